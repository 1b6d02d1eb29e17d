namespace Drover.Gateway;

/// <summary>
/// The draws of the node choice: <see cref="Random.Shared"/> in production. A seam for tests, which
/// register their own (seeded, or fixed draws) before <c>AddDroverGateway</c>.
/// </summary>
/// <param name="next">Returns a uniform draw in [0, 1).</param>
internal sealed class GatewayRandom(Func<double> next)
{
    public static GatewayRandom Shared { get; } = new(Random.Shared.NextDouble);

    /// <summary>A uniform draw in [0, 1).</summary>
    public double NextDouble() => next();
}
