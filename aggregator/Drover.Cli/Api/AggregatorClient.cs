using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Drover.Cli.Configuration;

namespace Drover.Cli.Api;

/// <summary>
/// The aggregator's HTTP API as droverctl uses it: every failure becomes a <see cref="CliException"/> with the exit
/// code a script can trust (<see cref="ExitCodes"/>) and one line saying what happened and what to change.
/// </summary>
internal sealed class AggregatorClient : IDisposable
{
    /// <summary>The largest answer read: the API's biggest lists (thousands of nodes) stay well under it.</summary>
    public const int MaxAnswerBytes = 64 * 1024 * 1024;

    private readonly HttpClient _http;

    public AggregatorClient(CliSettings settings)
    {
        Settings = settings;
        var handler = new SocketsHttpHandler { ConnectTimeout = settings.Timeout, AllowAutoRedirect = false };

        // Each request is bounded by its own timeout (see Deadline), so a followed event stream is not cut.
        _http = new HttpClient(handler) { BaseAddress = settings.Url, Timeout = Timeout.InfiniteTimeSpan, MaxResponseContentBufferSize = MaxAnswerBytes };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("droverctl", typeof(AggregatorClient).Assembly.GetName().Version?.ToString(3) ?? "0"));
        if (settings.Token is { } token)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public CliSettings Settings { get; }

    /// <summary>GETs <paramref name="path"/> (relative, no leading '/') and returns its JSON.</summary>
    public async Task<JsonElement> GetAsync(string path, CancellationToken cancellationToken)
        => (await SendAsync(HttpMethod.Get, path, null, cancellationToken)).Body;

    /// <summary>Sends a request with an optional JSON body; the answer when it is a 2xx, else the refusal as a <see cref="CliException"/>.</summary>
    public async Task<ApiAnswer> SendAsync(HttpMethod method, string path, byte[]? jsonBody, CancellationToken cancellationToken, string? subject = null)
    {
        using var deadline = Deadline(cancellationToken);
        using var request = new HttpRequestMessage(method, path);
        if (jsonBody is not null)
        {
            request.Content = new ByteArrayContent(jsonBody);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
            var body = await response.Content.ReadAsStringAsync(deadline.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw Refusal(response, body, subject);
            }

            return new ApiAnswer((int)response.StatusCode, ParseBody(method, path, response, body));
        }
        catch (Exception ex) when (Unreachable(ex, deadline, cancellationToken) is { } unreachable)
        {
            throw unreachable;
        }
    }

    /// <summary>
    /// Opens a server-sent event stream: the response once its headers are in (the timeout covers only that);
    /// a refusal as for <see cref="SendAsync"/>. The caller reads and disposes it.
    /// </summary>
    public async Task<HttpResponseMessage> OpenStreamAsync(string path, CancellationToken cancellationToken)
    {
        using var deadline = Deadline(cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        HttpResponseMessage? response = null;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(deadline.Token);
                throw Refusal(response, body, null);
            }

            var opened = response;
            response = null;
            return opened;
        }
        catch (Exception ex) when (Unreachable(ex, deadline, cancellationToken) is { } unreachable)
        {
            throw unreachable;
        }
        finally
        {
            response?.Dispose();
        }
    }

    /// <summary>The one line and exit code for an error answer: 401/403 the token, 404 not found, anything else refused.</summary>
    public CliException Refusal(HttpResponseMessage response, string body, string? subject)
    {
        var code = (int)response.StatusCode;
        var problem = Problem.Describe(code, response.ReasonPhrase ?? "", body);
        var prefix = subject is null ? "" : subject + ": ";
        return response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => new CliException(
                ExitCodes.TokenRefused,
                Settings.Token is null
                    ? $"{prefix}the aggregator at {Settings.Url} wants a token and none was given ({problem}). Set one with {Settings.HowToSetToken}; drover-aggregator tokens add makes one."
                    : $"{prefix}the aggregator at {Settings.Url} refused the token from {Settings.TokenSource} ({problem}). Set another with {Settings.HowToSetToken}."),
            HttpStatusCode.Forbidden => new CliException(
                ExitCodes.TokenRefused,
                $"{prefix}the token from {Settings.TokenSource ?? "nowhere"} may not do this ({problem}). Changes need a token of role 'admin': set one with {Settings.HowToSetToken}."),
            HttpStatusCode.NotFound => new CliException(ExitCodes.NotFound, $"{prefix}not found ({problem})"),
            _ => new CliException(ExitCodes.Refused, $"{prefix}the aggregator refused ({problem})"),
        };
    }

    public void Dispose() => _http.Dispose();

    private CancellationTokenSource Deadline(CancellationToken cancellationToken)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Settings.Timeout);
        return deadline;
    }

    private JsonElement ParseBody(HttpMethod method, string path, HttpResponseMessage response, string body)
    {
        if (body.Length == 0)
        {
            return default;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new CliException(
                ExitCodes.Refused,
                $"the answer to {method} /{path} from {Settings.Url} is not JSON ({response.Content.Headers.ContentType?.MediaType ?? "no content type"}): is {Settings.Url} (from {Settings.UrlSource}) a Drover aggregator?");
        }
    }

    /// <summary>The exception a transport failure becomes; null for anything else (a refusal, the caller's own cancellation).</summary>
    private CliException? Unreachable(Exception ex, CancellationTokenSource deadline, CancellationToken cancellationToken)
    {
        if (ex is CliException || cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        if (ex is OperationCanceledException && deadline.IsCancellationRequested)
        {
            return new CliException(
                ExitCodes.Unreachable,
                $"the aggregator at {Settings.Url} did not answer within {Settings.Timeout.TotalSeconds:0.###} s (--timeout). Is it running, and is this its address? {Settings.HowToSetUrl}");
        }

        if (ex is HttpRequestException or IOException)
        {
            return new CliException(
                ExitCodes.Unreachable,
                $"cannot reach the aggregator at {Settings.Url} ({Cause(ex)}). Is it running, and is this its address? {Settings.HowToSetUrl}");
        }

        return null;
    }

    /// <summary>The innermost useful reason: "Connection refused", a name that does not resolve, a TLS failure.</summary>
    private static string Cause(Exception ex)
    {
        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return socket.Message.TrimEnd('.');
            }

            if (inner is System.Security.Authentication.AuthenticationException tls)
            {
                return "TLS: " + tls.Message.TrimEnd('.');
            }
        }

        return ex.Message.TrimEnd('.');
    }
}
