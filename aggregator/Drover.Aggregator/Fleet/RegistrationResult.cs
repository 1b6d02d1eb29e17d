namespace Drover.Aggregator.Fleet;

/// <summary>The outcome of a Hello at the node table: accepted, or refused with the field and the reason.</summary>
internal sealed record RegistrationResult(bool Accepted, string? Field, string? Reason)
{
    public static readonly RegistrationResult Ok = new(true, null, null);

    public static RegistrationResult Refused(string field, string reason) => new(false, field, reason);
}
