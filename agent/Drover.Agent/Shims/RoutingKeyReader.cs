using System.Text.Json;
using System.Text;
using Drover.Protocol.V1;
using Microsoft.AspNetCore.Http;

namespace Drover.Agent.Shims;

/// <summary>
/// Reads the value a service routes by from a request: a header's value, or the raw text of a
/// top-level field of a JSON body (bodies up to 1 MiB are buffered for it, then read again by the
/// forwarder). No value (absent, not JSON, too large) means the table's policy decides.
/// </summary>
internal static class RoutingKeyReader
{
    public const int MaxBodyBytes = 1024 * 1024;

    public static async Task<byte[]?> ReadAsync(HttpRequest request, RoutingField? field, CancellationToken cancellationToken)
    {
        if (field is null)
        {
            return null;
        }

        if (field.SourceCase == RoutingField.SourceOneofCase.Header)
        {
            var value = request.Headers[field.Header];
            return value.Count == 0 || string.IsNullOrEmpty(value[0]) ? null : Encoding.UTF8.GetBytes(value[0]!);
        }

        if (field.SourceCase != RoutingField.SourceOneofCase.JsonField || request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        // No limit on what is buffered (a larger chunked body is still forwarded whole); only the
        // first MaxBodyBytes are looked at for the field.
        request.EnableBuffering(bufferThreshold: 64 * 1024);
        using var body = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            while (body.Length <= MaxBodyBytes)
            {
                var read = await request.Body.ReadAsync(chunk, cancellationToken);
                if (read == 0)
                {
                    break;
                }

                body.Write(chunk, 0, read);
            }
        }
        catch (IOException)
        {
            // Over the buffer limit: too large to route by.
            return null;
        }
        finally
        {
            request.Body.Position = 0;
        }

        return body.Length > MaxBodyBytes ? null : FindField(body.GetBuffer().AsSpan(0, (int)body.Length), field.JsonField);
    }

    /// <summary>The raw text of a top-level field's value (a string unescaped, without its quotes); null when absent or not a JSON object.</summary>
    public static byte[]? FindField(ReadOnlySpan<byte> json, string name)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var match = reader.ValueTextEquals(name);
                reader.Read();
                if (match)
                {
                    return reader.TokenType switch
                    {
                        JsonTokenType.String => Encoding.UTF8.GetBytes(reader.GetString()!),
                        JsonTokenType.StartObject or JsonTokenType.StartArray => RawContainer(ref reader, json),
                        _ => reader.ValueSpan.ToArray(),
                    };
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Not JSON: no value to route by.
        }

        return null;
    }

    private static byte[] RawContainer(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        return json[start..(int)reader.BytesConsumed].ToArray();
    }
}
