using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Drover.Cli.Output;

/// <summary>JSON as droverctl prints it: the API's values as they are, indented (or one line for a stream).</summary>
internal static class JsonText
{
    public static string Write(JsonElement value, bool indented = true)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            value.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>An object of the given properties, in their order: what a command that reads several endpoints prints.</summary>
    public static JsonElement Object(params (string Name, JsonElement Value)[] properties)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in properties)
            {
                writer.WritePropertyName(name);
                if (value.ValueKind == JsonValueKind.Undefined)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    value.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }

    /// <summary>A JSON string.</summary>
    public static JsonElement Of(string value) => JsonSerializer.SerializeToElement(value);

    /// <summary>An array of the given values.</summary>
    public static JsonElement Array(IEnumerable<JsonElement> values)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var value in values)
            {
                value.WriteTo(writer);
            }

            writer.WriteEndArray();
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }
}
