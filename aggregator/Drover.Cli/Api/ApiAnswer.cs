using System.Text.Json;

namespace Drover.Cli.Api;

/// <summary>A successful answer: its status code and its JSON body (<see cref="JsonValueKind.Undefined"/> when it had none).</summary>
internal sealed record ApiAnswer(int StatusCode, JsonElement Body);
