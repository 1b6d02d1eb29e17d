namespace Drover.Aggregator.State;

/// <summary>One instance the persistent state storage keeps snapshots of, described by its newest.</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="FunctionName">The function (or service) its newest snapshot belongs to.</param>
/// <param name="LatestVersion">Its newest kept version.</param>
/// <param name="Versions">How many versions of it are kept.</param>
/// <param name="LatestCommittedAt">When its newest kept version was committed, on the aggregator's clock.</param>
internal sealed record StoredInstance(
    string InstanceId,
    string FunctionName,
    long LatestVersion,
    int Versions,
    DateTimeOffset LatestCommittedAt);
