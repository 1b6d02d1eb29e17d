using System.CommandLine;
using System.Text;
using System.Text.Json;
using Drover.Cli.Events;
using Drover.Cli.Views;

namespace Drover.Cli.Commands;

/// <summary>
/// <c>droverctl events</c>: the aggregator's event stream (<c>GET /v1/events</c>). The aggregator replays what it
/// keeps of a channel only when the request names it and asks for a resume point (<c>?after=</c>), and otherwise
/// sends only new events, forever. So:
/// <list type="bullet">
/// <item>without <c>--follow</c>: what the aggregator keeps of the named channels (of every defined function,
/// service and cluster, and every function's decisions, when none is named), oldest first, then exit once the
/// stream has been quiet for <see cref="QuietPeriod"/> (or <c>--timeout</c> has passed, for a channel that never
/// goes quiet);</item>
/// <item>with <c>--follow</c>: the kept history of the named channels, then new events until interrupted; with none
/// named, new events of every channel.</item>
/// </list>
/// </summary>
internal static class EventsCommand
{
    /// <summary>How long the stream must stay quiet, once the kept history has come, for <c>events</c> without <c>--follow</c> to end.</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(1);

    /// <summary>The most channels one request may name (the aggregator's limit); more are read in several requests.</summary>
    public const int MaxChannelsPerRequest = 64;

    public static Command Create(CommandRunner run)
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events until interrupted (Ctrl-C)" };
        var function = new Option<string[]>("--function") { Description = "A function's status messages (repeatable)", HelpName = "NAME" };
        var service = new Option<string[]>("--service") { Description = "A service's status messages (repeatable)", HelpName = "NAME" };
        var cluster = new Option<string[]>("--cluster") { Description = "A cluster's health transitions (repeatable)", HelpName = "NAME" };
        var decisions = new Option<string[]>("--decisions") { Description = "A function's placement and scaling decisions (repeatable)", HelpName = "NAME" };
        var command = new Command(
            "events",
            "The event stream: status messages of every request, cluster health transitions, decisions (GET /v1/events). " +
            "Without --follow: what the aggregator keeps of the named channels (of every function, service and cluster when none is named), then exit once the stream is quiet for a second. " +
            "With --follow: that history of the named channels, then new events until interrupted (with none named, new events of every channel). " +
            "-o json prints one {id, event, data} object per line.")
        {
            follow, function, service, cluster, decisions,
        };

        run.Set(command, async (context, cancellationToken) =>
        {
            var named = new List<string>();
            foreach (var (option, parameter) in new[] { (function, "function"), (service, "service"), (cluster, "cluster"), (decisions, "decisions") })
            {
                foreach (var name in context.Parse.GetValue(option) ?? [])
                {
                    if (!Apply.DocumentReader.IsName(name))
                    {
                        throw new CliException(ExitCodes.Usage, $"--{parameter} '{name}' is not a name; expected 1-63 characters of a-z 0-9 -, not starting with -");
                    }

                    named.Add($"{parameter}={Uri.EscapeDataString(name)}");
                }
            }

            if (context.Parse.GetValue(follow))
            {
                if (named.Count > MaxChannelsPerRequest)
                {
                    throw new CliException(ExitCodes.Usage, $"{named.Count} channels are named; --follow takes at most {MaxChannelsPerRequest}");
                }

                // ?after= (an empty cursor) asks for the kept history of every named channel first.
                var query = named.Count == 0 ? "" : "?" + string.Join('&', named.Append("after="));
                return await FollowAsync(context, "v1/events" + query, cancellationToken);
            }

            if (named.Count == 0)
            {
                named = await EveryChannelAsync(context, cancellationToken);
            }

            var history = new List<ServerSentEvent>();
            foreach (var batch in named.Chunk(MaxChannelsPerRequest))
            {
                history.AddRange(await HistoryAsync(context, "v1/events?" + string.Join('&', batch.Append("after=")), cancellationToken));
            }

            foreach (var item in history.Select((e, i) => (Event: e, Order: i)).OrderBy(e => At(e.Event)).ThenBy(e => e.Order))
            {
                Print(context, item.Event);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The channels of every defined function (its status messages and its decisions), service and cluster.</summary>
    private static async Task<List<string>> EveryChannelAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var channels = new List<string>();
        foreach (var name in Field.Items(await context.Client.GetAsync("v1/functions", cancellationToken)).Select(f => Field.Text(f, "name")))
        {
            channels.Add($"function={Uri.EscapeDataString(name)}");
            channels.Add($"decisions={Uri.EscapeDataString(name)}");
        }

        channels.AddRange(Field.Items(await context.Client.GetAsync("v1/services", cancellationToken)).Select(s => $"service={Uri.EscapeDataString(Field.Text(s, "name"))}"));
        channels.AddRange(Field.Items(await context.Client.GetAsync("v1/clusters", cancellationToken), "clusters").Select(c => $"cluster={Uri.EscapeDataString(Field.Text(c, "name"))}"));
        return channels;
    }

    /// <summary>Reads a stream until it has been quiet for <see cref="QuietPeriod"/>, or for at most the request timeout.</summary>
    private static async Task<List<ServerSentEvent>> HistoryAsync(CommandContext context, string path, CancellationToken cancellationToken)
    {
        using var response = await context.Client.OpenStreamAsync(path, cancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        var events = new ServerSentEventReader(reader);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(context.Client.Settings.Timeout);
        var history = new List<ServerSentEvent>();
        while (true)
        {
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(bounded.Token);
            quiet.CancelAfter(QuietPeriod);
            ServerSentEvent? item;
            try
            {
                item = await events.ReadAsync(quiet.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return history;
            }
            catch (IOException ex)
            {
                throw new CliException(ExitCodes.Unreachable, $"the event stream from {context.Client.Settings.Url} broke: {ex.Message}");
            }

            if (item is null)
            {
                return history;
            }

            if (item.Event == "disconnected")
            {
                throw Disconnected(item);
            }

            history.Add(item);
        }
    }

    private static async Task<int> FollowAsync(CommandContext context, string path, CancellationToken cancellationToken)
    {
        using var response = await context.Client.OpenStreamAsync(path, cancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        var events = new ServerSentEventReader(reader);
        while (true)
        {
            ServerSentEvent? item;
            try
            {
                item = await events.ReadAsync(cancellationToken);
            }
            catch (IOException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new CliException(ExitCodes.Unreachable, $"the event stream from {context.Client.Settings.Url} broke: {ex.Message}");
            }

            if (item is null)
            {
                throw new CliException(ExitCodes.Unreachable, $"the aggregator at {context.Client.Settings.Url} ended the event stream (stopped or restarted?)");
            }

            if (item.Event == "disconnected")
            {
                throw Disconnected(item);
            }

            Print(context, item);
        }
    }

    private static void Print(CommandContext context, ServerSentEvent item)
    {
        if (context.Output.Json)
        {
            context.Output.WriteJsonLine(Json(item));
        }
        else
        {
            context.Output.WriteLine(EventLine.Format(item));
            context.Host.Out.Flush();
        }
    }

    /// <summary>An event as <c>-o json</c> prints it: <c>{id, event, data}</c>, data as the aggregator sent it.</summary>
    public static JsonElement Json(ServerSentEvent item)
    {
        var data = item.DataJson() ?? Output.JsonText.Of(item.Data);
        return Output.JsonText.Object(("id", item.Id is null ? default : Output.JsonText.Of(item.Id)), ("event", Output.JsonText.Of(item.Event)), ("data", data));
    }

    /// <summary>When an event happened, for ordering the history of several channels; the earliest time when it does not say.</summary>
    private static DateTimeOffset At(ServerSentEvent item)
    {
        try
        {
            using var document = JsonDocument.Parse(item.Data);
            return DateTimeOffset.TryParse(EventLine.At(document.RootElement), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
                ? at
                : DateTimeOffset.MinValue;
        }
        catch (JsonException)
        {
            return DateTimeOffset.MinValue;
        }
    }

    private static CliException Disconnected(ServerSentEvent item)
    {
        var reason = item.Data;
        try
        {
            using var document = JsonDocument.Parse(item.Data);
            reason = Field.Text(document.RootElement, "reason");
        }
        catch (JsonException)
        {
        }

        return new CliException(ExitCodes.Refused, $"the aggregator ended the event stream: {reason}");
    }
}
