namespace Drover.Hosting;

/// <summary>A configuration value a program cannot start with; the message names the key, the value and what is accepted.</summary>
public sealed class ConfigurationException : Exception
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
