namespace Drover.Aggregator.Configuration;

/// <summary>A configuration value the aggregator cannot start with; the message names the key, the value and what is accepted.</summary>
internal sealed class ConfigurationException : Exception
{
    public ConfigurationException(string message)
        : base(message)
    {
    }

    public ConfigurationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
