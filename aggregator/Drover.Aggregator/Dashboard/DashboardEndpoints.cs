namespace Drover.Aggregator.Dashboard;

/// <summary>
/// The live dashboard on the HTTP port: <c>GET /</c> is its page and <c>GET /dashboard/NAME</c> its modules, styles and
/// icon. They are served without a token because they hold no data: the page asks for a token and reads the fleet
/// through the management API (<c>/v1/...</c>) like droverctl, with the same token. No inline script or style, so the
/// Content-Security-Policy allows scripts, styles and connections from this origin only.
/// </summary>
internal static class DashboardEndpoints
{
    /// <summary>The folder of the dashboard's files on the HTTP port.</summary>
    public const string FilesPath = "/dashboard";

    /// <summary>What the page may load and where it may connect: this origin only, nothing inline, never framed.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>Whether a request path is the dashboard's (answered on the HTTP port only, like the API).</summary>
    public static bool Serves(PathString path) => path == "/" || path.StartsWithSegments(FilesPath, StringComparison.Ordinal);

    public static void MapDashboard(this IEndpointRouteBuilder app)
    {
        var files = DashboardFiles.Load();
        string[] methods = [HttpMethods.Get, HttpMethods.Head];
        app.MapMethods("/", methods, (HttpContext context) => Serve(context, files.Find("index.html")));
        app.MapMethods(FilesPath + "/{name}", methods, (string name, HttpContext context) => Serve(context, name == "index.html" ? null : files.Find(name)));
    }

    private static IResult Serve(HttpContext context, DashboardFile? file)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        if (file is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "The dashboard has no file of this name.");
        }

        // The file names are not versioned (there is no build step to hash them), so a browser keeps each file but
        // asks whether it changed at every load: an upgraded aggregator's page never runs an older module.
        headers.CacheControl = "no-cache";
        headers.ETag = file.ETag;
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && (v == "*" || v.Split(',').Any(tag => tag.Trim() == file.ETag))))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return HttpMethods.IsHead(context.Request.Method)
            ? new HeadResult(file)
            : Results.Bytes(file.Content, file.ContentType);
    }

    /// <summary>A HEAD's answer: the GET's headers and length, no body.</summary>
    private sealed class HeadResult(DashboardFile file) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.ContentType = file.ContentType;
            httpContext.Response.ContentLength = file.Content.Length;
            return Task.CompletedTask;
        }
    }
}
