using Drover.Aggregator.Configuration;
using Drover.Protocol;

namespace Drover.Aggregator.Access;

/// <summary>
/// <c>drover-aggregator tokens add|list|remove</c>: manages the tokens file without starting the
/// aggregator. <c>add</c> prints the new token once, alone on standard output (so
/// <c>TOKEN=$(drover-aggregator tokens add ...)</c> captures it), and stores only its hash. The file is
/// the one <c>--file</c> names, else <c>apiTokensFile</c> from the configuration (<c>--config</c>, the
/// environment, <c>/etc/drover/aggregator.json</c>). A running aggregator reads it at start: restart it
/// to apply a change.
/// </summary>
internal static class TokensCommand
{
    /// <summary>EX_USAGE from sysexits.h: the command line is wrong.</summary>
    public const int Usage = 64;

    public const string UsageText = """
        usage: drover-aggregator tokens add --name NAME --role admin|read [--file FILE] [--config FILE]
               drover-aggregator tokens list [--file FILE] [--config FILE]
               drover-aggregator tokens remove --name NAME [--file FILE] [--config FILE]
        """;

    /// <summary>Runs the verb in <paramref name="args"/> (the words after <c>tokens</c>); returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0)
        {
            error.WriteLine(UsageText);
            return Usage;
        }

        if (!TryParse(args[1..], out var values, out var problem))
        {
            return Fail(error, $"{problem}\n{UsageText}", Usage);
        }

        try
        {
            var file = values.GetValueOrDefault("file") ?? FileFromConfiguration(values.GetValueOrDefault("config"));
            return args[0] switch
            {
                "add" => Add(file, values, output, error),
                "list" => List(file, values, output, error),
                "remove" => Remove(file, values, error),
                _ => Fail(error, $"unknown verb '{args[0]}'; expected add, list or remove\n{UsageText}", Usage),
            };
        }
        catch (ConfigurationException ex)
        {
            return Fail(error, ex.Message, ExitCodes.Configuration);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail(error, $"the tokens file cannot be written: {ex.Message}", 1);
        }
    }

    private static int Add(string file, Dictionary<string, string> values, TextWriter output, TextWriter error)
    {
        if (Unexpected(values, "name", "role") is { } unexpected)
        {
            return Fail(error, unexpected, Usage);
        }

        var name = values.GetValueOrDefault("name");
        var role = values.GetValueOrDefault("role");
        if (!Names.IsName(name))
        {
            return Fail(error, $"--name '{name}': expected 1-63 characters of a-z 0-9 -, not starting with -", Usage);
        }

        if (!ApiRoles.IsRole(role))
        {
            return Fail(error, $"--role '{role}': expected {ApiRoles.Accepted}", Usage);
        }

        var tokens = ApiTokenFile.Read(file);
        if (tokens.Any(t => t.Name == name))
        {
            return Fail(error, $"a token named '{name}' is already in '{file}'; remove it first (tokens remove --name {name}) or choose another name", 1);
        }

        var token = ApiTokenFile.NewToken();
        ApiTokenFile.Write(file, [.. tokens, new ApiToken(name!, role!, ApiTokenFile.HashOf(token))]);
        output.WriteLine(token);
        error.WriteLine($"Added {role} token '{name}' to '{file}'. It is shown only this once; restart the aggregator to apply it.");
        return ExitCodes.Success;
    }

    private static int List(string file, Dictionary<string, string> values, TextWriter output, TextWriter error)
    {
        if (Unexpected(values) is { } unexpected)
        {
            return Fail(error, unexpected, Usage);
        }

        foreach (var token in ApiTokenFile.Read(file))
        {
            output.WriteLine($"{token.Name}\t{token.Role}");
        }

        return ExitCodes.Success;
    }

    private static int Remove(string file, Dictionary<string, string> values, TextWriter error)
    {
        if (Unexpected(values, "name") is { } unexpected)
        {
            return Fail(error, unexpected, Usage);
        }

        var name = values.GetValueOrDefault("name");
        var tokens = ApiTokenFile.Read(file);
        if (!tokens.Any(t => t.Name == name))
        {
            return Fail(error, $"no token named '{name}' in '{file}'", 1);
        }

        ApiTokenFile.Write(file, tokens.Where(t => t.Name != name).ToList());
        error.WriteLine($"Removed token '{name}' from '{file}'; restart the aggregator to apply it.");
        return ExitCodes.Success;
    }

    private static string FileFromConfiguration(string? config)
    {
        var configuration = AggregatorOptionsLoader.BuildConfiguration(config is null ? [] : ["--config", config]);
        return configuration[ApiTokenFile.Key] is { Length: > 0 } file ? file : new AggregatorOptions().ApiTokensFile;
    }

    private static bool TryParse(string[] args, out Dictionary<string, string> values, out string problem)
    {
        values = new Dictionary<string, string>(StringComparer.Ordinal);
        problem = "";
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                problem = $"'{args[i]}': expected --option value";
                return false;
            }

            values[args[i][2..]] = args[i + 1];
        }

        return true;
    }

    private static string? Unexpected(Dictionary<string, string> values, params string[] allowed)
    {
        var extra = values.Keys.Where(k => k is not ("file" or "config") && !allowed.Contains(k)).ToArray();
        return extra.Length == 0 ? null : $"unknown option --{extra[0]}";
    }

    private static int Fail(TextWriter error, string message, int code)
    {
        error.WriteLine($"drover-aggregator tokens: {message}");
        return code;
    }
}
