namespace Drover.Cli.Output;

/// <summary><c>-o table</c> (the default, for people) or <c>-o json</c> (the API's JSON, for scripts).</summary>
internal enum OutputFormat
{
    Table,
    Json,
}
