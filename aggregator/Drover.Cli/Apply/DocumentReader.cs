using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Drover.Cli.Apply;

/// <summary>
/// Reads what <c>droverctl apply -f</c> is given: one JSON document, a JSON array of documents, or a YAML stream of
/// one or more documents (<c>---</c> between them; a document may also be a list of them), each
/// <c>{kind: function|service|cluster, name: NAME, spec: {...}}</c>. Everything is read and checked before anything
/// is sent, so a bad document anywhere sends nothing; the error names the document and its line.
/// </summary>
internal static class DocumentReader
{
    /// <summary>The largest input read (the aggregator takes definitions of at most 64 KiB each).</summary>
    public const int MaxInputChars = 16 * 1024 * 1024;

    public static readonly string[] Kinds = ["function", "service", "cluster"];

    private static readonly string[] Keys = ["kind", "name", "spec"];

    /// <summary>The documents of <paramref name="text"/>, read from <paramref name="source"/> (a file name, or "stdin").</summary>
    public static IReadOnlyList<ApplyDocument> Read(string text, string source)
    {
        if (text.Length > MaxInputChars)
        {
            throw Invalid($"{source}: {text.Length} characters; expected at most {MaxInputChars}");
        }

        var trimmed = text.TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        var nodes = trimmed.StartsWith('{') || trimmed.StartsWith('[') ? ReadJson(trimmed, source) : ReadYaml(text, source);
        var documents = new List<ApplyDocument>();
        foreach (var (node, where) in nodes)
        {
            if (node is JsonArray list)
            {
                var i = 0;
                foreach (var item in list)
                {
                    documents.Add(Document(item, $"{where}, item {++i}"));
                }
            }
            else
            {
                documents.Add(Document(node, where));
            }
        }

        if (documents.Count == 0)
        {
            throw Invalid($"{source}: no documents; expected one or more {{kind: function|service|cluster, name: ..., spec: {{...}}}}");
        }

        var twice = documents.GroupBy(d => d.Label).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
        {
            throw Invalid($"{twice.Last().Where}: {twice.Key} is already in {twice.First().Where}; name each once");
        }

        return documents;
    }

    private static ApplyDocument Document(JsonNode? node, string where)
    {
        if (node is not JsonObject document)
        {
            throw Invalid($"{where}: {Describe(node)}; expected a mapping {{kind: function|service|cluster, name: ..., spec: {{...}}}}");
        }

        foreach (var (key, _) in document)
        {
            if (!Keys.Contains(key, StringComparer.Ordinal))
            {
                throw Invalid($"{where}: '{key}' is not a document key; expected kind, name and spec (the definition goes under spec)");
            }
        }

        var kind = Text(document, "kind", where).ToLowerInvariant();
        if (!Kinds.Contains(kind, StringComparer.Ordinal))
        {
            throw Invalid($"{where}: kind '{document["kind"]}' is not one of {string.Join(", ", Kinds)}");
        }

        var name = Text(document, "name", where);
        if (!IsName(name))
        {
            throw Invalid($"{where}: name '{name}' is not a name; expected 1-63 characters of a-z 0-9 -, not starting with -");
        }

        if (document["spec"] is not JsonObject spec)
        {
            throw Invalid($"{where}: spec is {Describe(document["spec"])}; expected a mapping (the {kind}'s {(kind == "cluster" ? "settings" : "definition")}; {{}} for none)");
        }

        return new ApplyDocument(kind, name, (JsonObject)spec.DeepClone(), where);
    }

    private static string Text(JsonObject document, string key, string where)
        => document[key] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0
            ? text
            : throw Invalid($"{where}: {key} is {Describe(document[key])}; expected a string");

    /// <summary>The API's name rule (the aggregator checks it too): it also keeps the name from changing the request's path.</summary>
    public static bool IsName(string name)
        => name.Length is > 0 and <= 63 && name[0] != '-' && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    private static List<(JsonNode? Node, string Where)> ReadJson(string text, string source)
    {
        try
        {
            var node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, AllowDuplicateProperties = false });
            return [(node, source)];
        }
        catch (JsonException ex)
        {
            throw Invalid($"{source}: not valid JSON: {ex.Message}");
        }
    }

    private static List<(JsonNode? Node, string Where)> ReadYaml(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw Invalid($"{source}: not valid YAML (line {ex.Start.Line}, column {ex.Start.Column}): {Inner(ex)}");
        }

        var nodes = new List<(JsonNode?, string)>();
        var index = 0;
        foreach (var document in stream.Documents)
        {
            index++;
            if (document.RootNode is YamlScalarNode { Value: null or "" } scalar && scalar.Style == YamlDotNet.Core.ScalarStyle.Plain)
            {
                // An empty document (a trailing ---, or comments only) holds nothing to apply.
                continue;
            }

            var where = $"{source}, document {index} (line {document.RootNode.Start.Line})";
            nodes.Add((YamlJson.Convert(document.RootNode, where), where));
        }

        return nodes;
    }

    private static string Inner(Exception ex)
    {
        var message = new StringBuilder(ex.Message);
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            message.Append(": ").Append(inner.Message);
        }

        return message.ToString();
    }

    private static string Describe(JsonNode? node) => node switch
    {
        null => "missing or null",
        JsonObject => "a mapping",
        JsonArray => "a list",
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => $"the string '{value}'",
            JsonValueKind.Number => $"the number {value.ToJsonString()}",
            _ => $"{value.ToJsonString()}",
        },
        _ => "something else",
    };

    private static CliException Invalid(string message) => new(ExitCodes.Usage, message);
}
