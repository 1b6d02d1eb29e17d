using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Drover.Agent.Shims;

/// <summary>
/// The shim's own answers: a status code and a JSON body <c>{error, callId, nodeId, instanceId?, reason}</c>
/// whose reason is a sentence. Written only while the response has not started.
/// </summary>
internal static class ShimErrors
{
    public static async Task WriteAsync(HttpContext context, int statusCode, string callId, string nodeId, string? instanceId, string reason, int? retryAfterSeconds = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            // The instance's answer is partly sent: all that is left is to cut it off.
            context.Abort();
            return;
        }

        response.Clear();
        response.StatusCode = statusCode;
        response.ContentType = "application/json; charset=utf-8";
        if (retryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("error", ErrorName(statusCode));
            json.WriteString("callId", callId);
            json.WriteString("nodeId", nodeId);
            if (!string.IsNullOrEmpty(instanceId))
            {
                json.WriteString("instanceId", instanceId);
            }

            json.WriteString("reason", reason);
            json.WriteEndObject();
        }

        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }

    /// <summary>A short, stable name of the error for programs; the reason is for people.</summary>
    public static string ErrorName(int statusCode) => statusCode switch
    {
        StatusCodes.Status400BadRequest => "bad_request",
        StatusCodes.Status404NotFound => "not_found",
        StatusCodes.Status413PayloadTooLarge => "too_large",
        StatusCodes.Status429TooManyRequests => "queue_full",
        StatusCodes.Status502BadGateway => "bad_gateway",
        StatusCodes.Status503ServiceUnavailable => "unavailable",
        StatusCodes.Status504GatewayTimeout => "timeout",
        _ => "error",
    };
}
