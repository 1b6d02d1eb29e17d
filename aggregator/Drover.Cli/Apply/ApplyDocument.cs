using System.Text.Json.Nodes;

namespace Drover.Cli.Apply;

/// <summary>One document of <c>droverctl apply</c>: what to PUT where.</summary>
/// <param name="Kind"><c>function</c>, <c>service</c> or <c>cluster</c>.</param>
/// <param name="Name">The workload's or cluster's name, checked against the API's name rule.</param>
/// <param name="Spec">The body of the PUT: a definition, or a cluster's settings.</param>
/// <param name="Where">Where the document is, for messages: <c>deploy.yaml, document 2 (line 14)</c>.</param>
internal sealed record ApplyDocument(string Kind, string Name, JsonObject Spec, string Where)
{
    /// <summary>The API path of the PUT, relative to the base URL.</summary>
    public string Path => $"v1/{Kind}s/{Name}";

    /// <summary><c>function/counter</c>, as results are reported.</summary>
    public string Label => $"{Kind}/{Name}";
}
