# SPDX-License-Identifier: Apache-2.0
# bash completion for dmakit. The commands, options and bench suites are read from dmakit's own
# --help when a word is completed, so this file never has to follow the command line's changes.

_dmakit() {
  local cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]} sub="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -*) ;;
      *) sub=${COMP_WORDS[i]}; break ;;
    esac
  done
  if [[ -z $sub ]]; then
    # The commands: the two-space-indented words under "Subcommands:".
    local commands
    commands=$("$prog" --help 2>/dev/null | sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi
  local help
  help=$("$prog" "$sub" --help 2>/dev/null)
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(grep -oE -- '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' <<<"$help" |
      tr -d ' ,' | sort -u)" -- "$cur"))
  elif [[ $sub == bench && $((i + 1)) -eq $COMP_CWORD ]]; then
    # The suites: the indented words above the usage line.
    COMPREPLY=($(compgen -W "$(sed -n '/^Usage:/q;s/^  \([a-z][a-z0-9-]*\)  .*/\1/p' <<<"$help")" \
      -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _dmakit dmakit
