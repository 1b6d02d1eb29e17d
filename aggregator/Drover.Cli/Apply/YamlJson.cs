using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Drover.Cli.Apply;

/// <summary>
/// A YAML node as the JSON the API takes, by YAML 1.2's core schema: a plain (unquoted) scalar is null, a boolean, an
/// integer or a float when it reads as one (<c>null</c>, <c>~</c>, <c>true</c>, <c>42</c>, <c>0x2a</c>, <c>1.5e3</c>),
/// else a string; a quoted or block scalar is always a string, as is one tagged <c>!!str</c>. YAML 1.1's
/// <c>yes</c>/<c>no</c>/<c>on</c>/<c>off</c> stay strings. Keys must be strings and appear once.
/// </summary>
internal static partial class YamlJson
{
    /// <summary>The most values one document may expand to: aliases repeat what they name, and may nest.</summary>
    public const int MaxValues = 1_000_000;

    public static JsonNode? Convert(YamlNode node, string where)
    {
        var budget = MaxValues;
        return Convert(node, where, ref budget);
    }

    private static JsonNode? Convert(YamlNode node, string where, ref int budget)
    {
        if (--budget < 0)
        {
            throw Invalid(where, node, $"more than {MaxValues} values once its aliases are expanded");
        }

        switch (node)
        {
            case YamlMappingNode mapping:
                var result = new JsonObject();
                foreach (var (keyNode, valueNode) in mapping.Children)
                {
                    if (keyNode is not YamlScalarNode { Value: { } key })
                    {
                        throw Invalid(where, keyNode, "a key that is not a string");
                    }

                    // YamlDotNet refuses a key given twice as it loads; this is the same rule for the JSON made here.
                    if (!result.TryAdd(key, Convert(valueNode, where, ref budget)))
                    {
                        throw Invalid(where, keyNode, $"the key '{key}' given twice");
                    }
                }

                return result;
            case YamlSequenceNode sequence:
                var items = new JsonArray();
                foreach (var child in sequence.Children)
                {
                    items.Add(Convert(child, where, ref budget));
                }

                return items;
            case YamlScalarNode scalar:
                return Scalar(scalar, where);
            default:
                throw Invalid(where, node, "an alias or node of an unknown kind");
        }
    }

    private static JsonNode? Scalar(YamlScalarNode scalar, string where)
    {
        var value = scalar.Value ?? "";
        var tag = scalar.Tag.IsEmpty ? null : scalar.Tag.Value;
        if (tag is null && scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(value);
        }

        switch (tag)
        {
            case null:
                return Resolve(value);
            case "tag:yaml.org,2002:str" or "!":
                return JsonValue.Create(value);
            case "tag:yaml.org,2002:null":
                return null;
            case "tag:yaml.org,2002:bool":
            case "tag:yaml.org,2002:int":
            case "tag:yaml.org,2002:float":
                var resolved = Resolve(value);
                if (resolved is JsonValue typed && typed.GetValueKind() != System.Text.Json.JsonValueKind.String)
                {
                    return resolved;
                }

                throw Invalid(where, scalar, $"'{value}' tagged {tag[(tag.LastIndexOf(':') + 1)..]}, which it is not");
            default:
                throw Invalid(where, scalar, $"the tag {tag}; only YAML's standard str, int, float, bool and null are understood");
        }
    }

    /// <summary>A plain scalar by the core schema (YAML 1.2, 10.3.2).</summary>
    private static JsonNode? Resolve(string value)
    {
        if (value is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (value is "true" or "True" or "TRUE")
        {
            return JsonValue.Create(true);
        }

        if (value is "false" or "False" or "FALSE")
        {
            return JsonValue.Create(false);
        }

        if (DecimalInteger().IsMatch(value))
        {
            return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole)
                ? JsonValue.Create(whole)
                : decimal.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var large) ? JsonValue.Create(large) : JsonValue.Create(value);
        }

        if (value.StartsWith("0x", StringComparison.Ordinal) && value.Length > 2 && long.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex) && hex >= 0)
        {
            return JsonValue.Create(hex);
        }

        if (value.StartsWith("0o", StringComparison.Ordinal) && value.Length > 2 && value.AsSpan(2).ContainsAnyExcept("01234567") is false)
        {
            try
            {
                return JsonValue.Create(System.Convert.ToInt64(value[2..], 8));
            }
            catch (OverflowException)
            {
                return JsonValue.Create(value);
            }
        }

        if (Float().IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            return JsonValue.Create(number);
        }

        // .inf and .nan have no JSON form: they stay text, as any other plain scalar.
        return JsonValue.Create(value);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex DecimalInteger();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();

    private static CliException Invalid(string where, YamlNode node, string what)
        => new(ExitCodes.Usage, $"{where}: line {node.Start.Line}, column {node.Start.Column}: {what}");
}
