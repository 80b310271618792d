import type { Command } from 'commander';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { complete } from './complete.ts';
import { loadFullProgram } from '../../full-program.ts';

// Each script hands the words typed so far to `talosctl __complete -- …` and turns its
// "value<TAB>description" lines into the shell's candidates; with no candidate, the shell falls
// back to file names (as for paths given to `apply-config -f`).

// bash shows no descriptions, so its script ignores the flag.
const bash = (_descriptions: boolean): string => `# bash completion for talosctl
_talosctl_complete() {
    local cur="\${COMP_WORDS[COMP_CWORD]}"
    local IFS=$'\\n'
    local line
    local -a lines
    COMPREPLY=()
    lines=($(talosctl __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)) || return 0
    for line in "\${lines[@]}"; do
        COMPREPLY+=("\${line%%$'\\t'*}")
    done
    return 0
}
complete -o default -o bashdefault -F _talosctl_complete talosctl
`;

const zsh = (descriptions: boolean): string => `#compdef talosctl
# zsh completion for talosctl
_talosctl() {
    local -a lines candidates
    local line name desc
    lines=("\${(@f)$(talosctl __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
    for line in $lines; do
        [[ -z $line ]] && continue
        name=\${line%%$'\\t'*}
        desc=\${line#*$'\\t'}
        [[ $desc == $line ]] && desc=""
        ${descriptions ? 'candidates+=("${name//:/\\\\:}${desc:+:$desc}")' : 'candidates+=("${name//:/\\\\:}")'}
    done
    if (( \${#candidates} )); then
        _describe 'talosctl' candidates
    else
        _files
    fi
}
if [[ $zsh_eval_context[-1] == loadautoload ]]; then
    _talosctl "$@"
else
    compdef _talosctl talosctl
fi
`;

const fish = (descriptions: boolean): string => `# fish completion for talosctl
function __talosctl_complete
    set -l tokens (commandline -opc) (commandline -ct)
    talosctl __complete -- $tokens[2..-1] 2>/dev/null${descriptions ? '' : " | string replace -r '\\t.*' ''"}
end
complete -c talosctl -e
complete -c talosctl -a '(__talosctl_complete)'
`;

const shells = {
  bash: { script: bash, help: 'source <(talosctl completion bash)' },
  zsh: { script: zsh, help: 'source <(talosctl completion zsh)' },
  fish: { script: fish, help: 'talosctl completion fish | source' },
} as const;

/** `talosctl completion bash|zsh|fish`: a shell script that completes commands, flags and contexts. */
export const registerCompletion: CommandRegistrar = (parent: Command, io: CliIo) => {
  const group = parent.command('completion').description('Generate the autocompletion script for the specified shell');
  for (const [shell, { script, help }] of Object.entries(shells)) {
    group
      .command(shell)
      .description(`Generate the autocompletion script for ${shell}`)
      .addHelpText('after', `\nTo load completions in your current shell session:\n\n\t${help}\n`)
      .option('--no-descriptions', 'disable completion descriptions')
      .action((opts: { descriptions: boolean }) => {
        io.out(script(opts.descriptions));
      });
  }
};

/**
 * `talosctl __complete -- words…`: the scripts' callback, hidden as cobra's is. Words come after
 * `--` so none is taken for a flag. It loads every command (the CLI otherwise loads only the one it
 * runs), since completing `config con` needs `config`'s subcommands.
 */
export const registerCompleteCallback: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('__complete', { hidden: true })
    .description('Answer the completion scripts')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .argument('[words...]')
    .action(async (words: string[]) => {
      const root = await loadFullProgram(io);
      const list = words.length === 0 ? [''] : words;
      for (const c of await complete(root, list)) io.out(c.description ? `${c.value}\t${c.description}\n` : `${c.value}\n`);
    });
};
