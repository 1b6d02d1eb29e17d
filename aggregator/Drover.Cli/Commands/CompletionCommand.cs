using System.CommandLine;

namespace Drover.Cli.Commands;

/// <summary>
/// <c>droverctl completion bash|zsh</c>: a script that completes droverctl's commands, options and their values
/// in that shell. Each script asks droverctl itself through System.CommandLine's <c>[suggest:POSITION]</c>
/// directive (what the dotnet-suggest tool also calls), so completion always matches the installed droverctl.
/// </summary>
internal static class CompletionCommand
{
    public static readonly string[] Shells = ["bash", "zsh"];

    // bash: COMP_LINE and COMP_POINT are the whole line and the cursor; the help option's /? and /h are left out.
    private const string Bash = """
        # droverctl completion for bash. Load it with: eval "$(droverctl completion bash)"
        # or for every shell: droverctl completion bash > /etc/bash_completion.d/droverctl
        _droverctl() {
            local IFS=$'\n' suggestion
            local -a suggestions=()
            while IFS= read -r suggestion; do
                [[ -n $suggestion && $suggestion != /* ]] && suggestions+=("$suggestion")
            done < <("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)
            COMPREPLY=($(compgen -W "${suggestions[*]}" -- "${COMP_WORDS[COMP_CWORD]}"))
        }
        complete -o default -o bashdefault -F _droverctl droverctl
        """;

    // zsh: the words up to the one being completed, and the cursor at its end.
    private const string Zsh = """
        #compdef droverctl
        # droverctl completion for zsh. Load it with: eval "$(droverctl completion zsh)" (after compinit)
        # or save it as _droverctl in a folder of $fpath.
        _droverctl() {
            local line="${(j: :)words[1,CURRENT]}"
            local -a suggestions
            suggestions=("${(@f)$("${words[1]}" "[suggest:${#line}]" "$line" 2>/dev/null)}")
            suggestions=(${suggestions:#/*})
            if (( ${#suggestions} )); then
                compadd -- "${suggestions[@]}"
            else
                _files
            fi
        }
        compdef _droverctl droverctl
        """;

    public static Command Create(CliHost host)
    {
        var shell = new Argument<string>("SHELL") { Description = "bash or zsh" }.AcceptOnlyFromAmong(Shells);
        var command = new Command(
            "completion",
            "Prints the completion script of a shell: eval \"$(droverctl completion bash)\" in ~/.bashrc, or eval \"$(droverctl completion zsh)\" in ~/.zshrc after compinit. " +
            "The script asks droverctl itself through System.CommandLine's [suggest] directive, so it needs nothing else installed.")
        {
            shell,
        };
        command.SetAction(parse =>
        {
            host.Out.WriteLine(parse.GetValue(shell) == "zsh" ? Zsh : Bash);
            return ExitCodes.Ok;
        });
        return command;
    }
}
