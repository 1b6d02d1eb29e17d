using Drover.Cli.Apply;

namespace Drover.Cli.Tests.Apply;

public sealed class DocumentReaderTests
{
    [Fact]
    public void Read_YamlDocument_KindNameAndSpecAsJson()
    {
        var documents = DocumentReader.Read(
            """
            # the sample
            kind: function
            name: counter
            spec:
              version: "2"
              runtime:
                type: process
                command: /opt/counter
                args: [--fast, "42"]
                env: {MODE: "on", LEVEL: "3"}
              slo: 4
              public: true
              maxInstances: 8
              gpuMemoryBytes: 40000000000
              healthPath: /health
              colocateWith: null
            """,
            "fn.yaml");

        var document = Assert.Single(documents);
        Assert.Equal("function", document.Kind);
        Assert.Equal("counter", document.Name);
        Assert.Equal("v1/functions/counter", document.Path);
        Assert.Equal(
            """{"version":"2","runtime":{"type":"process","command":"/opt/counter","args":["--fast","42"],"env":{"MODE":"on","LEVEL":"3"}},"slo":4,"public":true,"maxInstances":8,"gpuMemoryBytes":40000000000,"healthPath":"/health","colocateWith":null}""",
            document.Spec.ToJsonString());
    }

    [Fact]
    public void Read_YamlStream_EveryDocumentInOrderEmptyOnesSkipped()
    {
        var documents = DocumentReader.Read(
            """
            ---
            kind: function
            name: a
            spec: {slo: 1}
            ---
            # nothing in this one
            ---
            kind: service
            name: b
            spec: {instanceCount: 2}
            ---
            kind: Cluster
            name: c1
            spec: {}
            ...
            """,
            "all.yaml");

        Assert.Equal(["function/a", "service/b", "cluster/c1"], documents.Select(d => d.Label));
        Assert.Equal(["v1/functions/a", "v1/services/b", "v1/clusters/c1"], documents.Select(d => d.Path));
        Assert.Equal("{}", documents[2].Spec.ToJsonString());
    }

    [Fact]
    public void Read_JsonDocument_AsIs()
    {
        var document = Assert.Single(DocumentReader.Read("""{"kind": "service", "name": "web", "spec": {"version": "2", "instanceCount": 3, "routingField": {"header": "X-User"}}}""", "web.json"));

        Assert.Equal("service/web", document.Label);
        Assert.Equal("""{"version":"2","instanceCount":3,"routingField":{"header":"X-User"}}""", document.Spec.ToJsonString());
    }

    [Fact]
    public void Read_JsonArray_EachItemADocument()
    {
        var documents = DocumentReader.Read("""[{"kind": "function", "name": "a", "spec": {}}, {"kind": "cluster", "name": "c2", "spec": {"weight": 50}}]""", "list.json");

        Assert.Equal(["function/a", "cluster/c2"], documents.Select(d => d.Label));
    }

    [Fact]
    public void Read_YamlList_EachItemADocument()
    {
        var documents = DocumentReader.Read(
            """
            - kind: function
              name: a
              spec: {}
            - kind: function
              name: b
              spec: {}
            """,
            "list.yaml");

        Assert.Equal(["function/a", "function/b"], documents.Select(d => d.Label));
    }

    [Theory]
    // YAML 1.2's core schema: only these plain scalars are not strings.
    [InlineData("42", "42")]
    [InlineData("-7", "-7")]
    [InlineData("0x1F", "31")]
    [InlineData("0o17", "15")]
    [InlineData("1.5", "1.5")]
    [InlineData("2e3", "2000")]
    [InlineData("true", "true")]
    [InlineData("False", "false")]
    [InlineData("~", "null")]
    [InlineData("null", "null")]
    [InlineData("", "null")]
    [InlineData("123456789012345678901234", "123456789012345678901234")]
    // ...and these are strings, whatever YAML 1.1 made of them.
    [InlineData("yes", "\"yes\"")]
    [InlineData("off", "\"off\"")]
    [InlineData("1.2.3", "\"1.2.3\"")]
    [InlineData(".inf", "\".inf\"")]
    [InlineData("\"42\"", "\"42\"")]
    [InlineData("'true'", "\"true\"")]
    [InlineData("!!str 42", "\"42\"")]
    [InlineData("!!int 42", "42")]
    [InlineData("12:30", "\"12:30\"")]
    public void Read_PlainScalar_TypedByTheCoreSchema(string yaml, string json)
    {
        var document = Assert.Single(DocumentReader.Read($"kind: cluster\nname: c1\nspec:\n  value: {yaml}\n", "x.yaml"));

        Assert.Equal(json, document.Spec["value"]?.ToJsonString() ?? "null");
    }

    [Fact]
    public void Read_BlockScalar_IsAString()
    {
        var document = Assert.Single(DocumentReader.Read("kind: cluster\nname: c1\nspec:\n  value: |\n    42\n", "x.yaml"));

        Assert.Equal("42\n", document.Spec["value"]!.GetValue<string>());
    }

    [Fact]
    public void Read_Anchors_AreResolvedWithinADocument()
    {
        var documents = DocumentReader.Read(
            """
            - kind: function
              name: a
              spec:
                runtime: &rt {type: process, command: /opt/a}
            - kind: function
              name: b
              spec:
                runtime: *rt
            """,
            "x.yaml");

        Assert.Equal("""{"runtime":{"type":"process","command":"/opt/a"}}""", documents[1].Spec.ToJsonString());
    }

    [Fact]
    public void Read_AliasesExpandingPastTheBound_UsageError()
    {
        // Ten levels of ten aliases each: 10^10 values once expanded.
        var yaml = new System.Text.StringBuilder("kind: cluster\nname: a\nspec:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i <= 10; i++)
        {
            yaml.Append($"  l{i}: &l{i} [{string.Join(", ", Enumerable.Repeat($"*l{i - 1}", 10))}]\n");
        }

        var error = Assert.Throws<CliException>(() => DocumentReader.Read(yaml.ToString(), "bomb.yaml"));

        Assert.Contains("more than 1000000 values", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_AnchorOfAnotherDocument_UsageError()
    {
        // YAML anchors belong to their document.
        var error = Assert.Throws<CliException>(() => DocumentReader.Read("kind: cluster\nname: a\nspec: &s {}\n---\nkind: cluster\nname: b\nspec: *s\n", "x.yaml"));

        Assert.Contains("not valid YAML", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kind: function\nname: a\nspec: {}\nmetadata: {}\n", "x.yaml, document 1 (line 1): 'metadata' is not a document key")]
    [InlineData("kind: deployment\nname: a\nspec: {}\n", "kind 'deployment' is not one of function, service, cluster")]
    [InlineData("name: a\nspec: {}\n", "kind is missing or null; expected a string")]
    [InlineData("kind: function\nspec: {}\n", "name is missing or null; expected a string")]
    [InlineData("kind: function\nname: Counter\nspec: {}\n", "name 'Counter' is not a name")]
    [InlineData("kind: function\nname: ../nodes\nspec: {}\n", "name '../nodes' is not a name")]
    [InlineData("kind: function\nname: 42\nspec: {}\n", "name is the number 42; expected a string")]
    [InlineData("kind: function\nname: a\n", "spec is missing or null; expected a mapping")]
    [InlineData("kind: function\nname: a\nspec: [1]\n", "spec is a list; expected a mapping")]
    [InlineData("just text\n", "document 1 (line 1): the string 'just text'; expected a mapping")]
    [InlineData("kind: function\nname: a\nspec: {slo: 1, slo: 2}\n", "Duplicate key slo")]
    [InlineData("kind: function\nname: a\nspec:\n  slo: [1\n", "not valid YAML (line")]
    [InlineData("kind: function\nname: a\nspec: {v: !!int abc}\n", "'abc' tagged int, which it is not")]
    [InlineData("kind: function\nname: a\nspec: {v: !custom x}\n", "the tag !custom")]
    [InlineData("kind: function\nname: a\nspec: {}\n---\nkind: function\nname: a\nspec: {}\n", "x.yaml, document 2 (line 5): function/a is already in x.yaml, document 1 (line 1)")]
    [InlineData("# only a comment\n", "x.yaml: no documents")]
    [InlineData("", "x.yaml: no documents")]
    [InlineData("[]", "x.yaml: no documents")]
    [InlineData("""{"kind": "function", "name": "a", "spec": {}, "spec": {}}""", "not valid JSON")]
    [InlineData("""{"kind": "function", "name": "a", "spec": {""", "not valid JSON")]
    public void Read_BadDocument_UsageErrorSayingWhereAndWhy(string text, string expected)
    {
        var error = Assert.Throws<CliException>(() => DocumentReader.Read(text, "x.yaml"));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BadDocumentLater_NamesItsDocumentAndLine()
    {
        var error = Assert.Throws<CliException>(() => DocumentReader.Read("kind: function\nname: a\nspec: {}\n---\nkind: function\nname: b\nspec: oops\n", "two.yaml"));

        Assert.Contains("two.yaml, document 2 (line 5): spec is the string 'oops'", error.Message, StringComparison.Ordinal);
    }
}
