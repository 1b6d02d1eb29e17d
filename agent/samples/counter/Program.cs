using Drover.Samples.Counter;

// The counter: POST / increments a count kept in DROVER_STATE_DIR and answers it.
//   ?sleepMs=N  holds the request N ms (at most 60 s);  ?crash=1  answers, then exits with code 1.
// With COUNTER_SUBSCRIBE=1 it subscribes to its own set's status messages over the local socket, and
// GET /events answers [{sequence, callId, status, instanceId}] of the last 10000 it received.
var port = Environment.GetEnvironmentVariable("PORT") ?? "8080";
var stateDirectory = Environment.GetEnvironmentVariable("DROVER_STATE_DIR") ?? Path.Combine(Path.GetTempPath(), "counter-state");
var instanceId = Environment.GetEnvironmentVariable("DROVER_INSTANCE_ID") ?? "standalone";
Directory.CreateDirectory(stateDirectory);

var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();

var store = new CountStore(Path.Combine(stateDirectory, "count"));
using var agent = AgentSocket.TryConnect(Console.Error);
var events = Environment.GetEnvironmentVariable("COUNTER_SUBSCRIBE") == "1" ? EventListener.Start(Console.Error) : null;
var gpu = (Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();

app.MapPost("/", async (HttpContext context) =>
{
    var query = context.Request.Query;
    agent?.Submitted(gpu);
    try
    {
        if (int.TryParse(query["sleepMs"], out var sleepMs) && sleepMs > 0)
        {
            await Task.Delay(Math.Min(sleepMs, 60_000), context.RequestAborted);
        }

        var count = store.Increment();
        if (query["crash"] == "1")
        {
            // Answer first, then die: the next request meets the replacement process. Kestrel sends
            // the last bytes from its own loop after the response completes; a moment's grace lets
            // them reach the socket before the process ends.
            context.Response.Headers.Connection = "close";
            context.Response.OnCompleted(() =>
            {
                _ = Task.Run(async () =>
                {
                    await Task.Delay(200);
                    Environment.Exit(1);
                });
                return Task.CompletedTask;
            });
        }

        return Results.Json(new { count, instanceId });
    }
    finally
    {
        agent?.Completed(gpu);
    }
});
app.MapGet("/", () => Results.Json(new { count = store.Read(), instanceId }));
app.MapGet("/events", () => events is null
    ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not subscribed", detail: "Set COUNTER_SUBSCRIBE=1 and run the counter under a drover agent.")
    : Results.Json(events.Snapshot().Select(e => new { sequence = e.Sequence, callId = e.CallId, status = e.Status, instanceId = e.InstanceId })));
app.MapPost("/commit", () => agent?.CommitNow() is { } version ? Results.Json(new { committedVersion = version }) : Results.Problem("The agent did not commit the state."));

app.Run();
