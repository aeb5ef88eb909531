# shellcheck shell=bash
# cmdai shell integration for zsh. (ShellCheck has no zsh mode, so the line
# above has it check this file as bash; the file keeps to syntax both share.)
#
# Type what you want to do at the prompt ("find large files"), press Ctrl-G,
# and the words are replaced by one shell command, ready to read, edit and run
# with Enter. Nothing runs by itself; on failure your words stay as they were.
# Pressing the key again on an unchanged result asks for a different command.
# A command the safety policy blocks is printed above the prompt with the
# reason and never put on the line: your request stays there instead.
#
# Refine: type ` # ` and what to change after the command cmdai gave
# (`find . -type f # only .log files`) and press the key: the command is
# revised for the same request. Alt-E explains the command on the line above
# the prompt, leaving the line as it is.
#
# When you run a command cmdai gave (as given or edited), the request and the
# line that ran are remembered in the background (`cmdai memory list`; never a
# High or Critical command; `cmdai memory off` stops it), so the same request
# later gets what you ran.
#
# Load it from ~/.zshrc (after any `bindkey -v`/`bindkey -e`):
#
#     eval "$(cmdai init zsh)"
#
# `cmdai init zsh --key '^X^G'` binds another key (bindkey notation; also
# $CMDAI_KEY; $CMDAI_EXPLAIN_KEY for Alt-E); `--no-bind` only defines the
# widgets, to bind them yourself: `bindkey '^X^G' __cmdai_widget` and
# `bindkey '^[e' __cmdai_explain_widget`. This file is a template that `cmdai init`
# fills in with the absolute path of the cmdai binary and the key.

# The cmdai binary (absolute path, filled in by `cmdai init`).
typeset -g __cmdai_bin=__CMDAI_BIN__
# The last request and the command it gave, to offer an alternative when the
# key is pressed again on an unchanged result; every command offered so far
# for that request goes to the binary with --avoid. After a blocked command
# the "result" is the request itself, back on the line.
typeset -g __cmdai_last_request=''
typeset -g __cmdai_last_result=''
typeset -ga __cmdai_avoid
__cmdai_avoid=()
# The command the key last put on the line and the request it came from,
# until the next line runs (then it is reported if that line is this command
# or an edit of it, and forgotten either way).
typeset -g __cmdai_offer=''
typeset -g __cmdai_offer_request=''
# What the binary writes on stderr before a command it blocked (exit 5).
typeset -g __cmdai_blocked_prefix='cmdai: blocked, not put on your command line: '

# Prints lines above the prompt (zle keeps the line being edited below them).
__cmdai_say() {
  zle -I
  print -rlu2 -- "$@"
}

# True if the line that ran ($2) is the offered command ($1) or an edit of it:
# it holds the command, or starts with the same word.
__cmdai_is_edit() {
  local ran=${2#"${2%%[![:space:]]*}"}
  [[ $ran == *"$1"* ]] && return 0
  local first=${1%%[[:space:]]*}
  [[ -n $first && ${ran%%[[:space:]]*} == "$first" ]]
}

# Runs before each command line: reports the offered command if this line is
# it (or an edit of it), in the background and silently, then forgets it.
__cmdai_preexec() {
  emulate -L zsh # the user's options (ksharrays, extendedglob...) stay out
  local ran=${1:-$3} offer=$__cmdai_offer req=$__cmdai_offer_request
  [[ -n $offer ]] || return 0
  __cmdai_offer=''
  __cmdai_offer_request=''
  __cmdai_is_edit "$offer" "$ran" || return 0
  (command "$__cmdai_bin" remember --request="$req" --offered="$offer" --ran="$ran" --cwd="$PWD" </dev/null >/dev/null 2>&1 &)
}

__cmdai_widget() {
  emulate -L zsh # local options and traps: everything set here is undone on return
  local req=$BUFFER alternative=0 instruction='' previous=''
  if [[ -n $__cmdai_last_result && $BUFFER == "$__cmdai_last_result" ]]; then
    req=$__cmdai_last_request
    alternative=1
  elif [[ -n $__cmdai_offer && $BUFFER == *' # '* && $__cmdai_offer != *" # ${BUFFER##*' # '}" ]]; then
    # Refine: what follows the last ` # ` (not the command's own) says what
    # to change in the command before it.
    instruction=${BUFFER##*' # '}
    previous=${BUFFER%' # '*}
    instruction=${instruction#"${instruction%%[![:space:]]*}"}
    instruction=${instruction%"${instruction##*[![:space:]]}"}
    previous=${previous%"${previous##*[![:space:]]}"}
    if [[ -z $instruction ]]; then
      __cmdai_say "cmdai: write what to change after the ' # ' (e.g. find . -type f # only .log files), then press the key again"
      return 0
    fi
    req=$__cmdai_offer_request
  fi
  if [[ -z ${req//[[:space:]]/} ]]; then
    __cmdai_say "cmdai: type what you want to do first (e.g. find large files), then press the key again"
    return 0
  fi
  if [[ ! -x $__cmdai_bin ]]; then
    __cmdai_say "cmdai: $__cmdai_bin is missing; reinstall cmdai, then run: eval \"\$(cmdai init zsh)\""
    return 0
  fi

  local -a args
  args=(--widget)
  if ((alternative)); then
    local prev
    for prev in "${__cmdai_avoid[@]}"; do
      args+=(--avoid "$prev")
    done
  elif [[ -n $instruction ]]; then
    args+=(--refine="$instruction" --previous="$previous")
  fi

  local errfile out rc saved_postdisplay=$POSTDISPLAY
  errfile=$(command mktemp "${TMPDIR:-/tmp}/cmdai.XXXXXX") || {
    __cmdai_say "cmdai: cannot create a temporary file in ${TMPDIR:-/tmp}"
    return 0
  }
  # Progress, on the line after the request (not part of the buffer).
  POSTDISPLAY="  ⏳ cmdai… (Ctrl-C cancels)"
  zle -R
  # Ctrl-C stops cmdai but must not abort the widget (zle would discard the
  # line): the trap swallows the signal, and the subshell turns it into exit 130.
  # shellcheck disable=SC2317 # zsh calls TRAPINT on Ctrl-C
  TRAPINT() { return 0; }
  out=$(
    trap 'exit 130' INT
    CMDAI_SHELL=zsh command "$__cmdai_bin" "${args[@]}" -- "$req" 2>"$errfile"
  )
  rc=$?
  POSTDISPLAY=$saved_postdisplay

  local -a notes
  local line cursor=''
  notes=()
  while IFS= read -r line || [[ -n $line ]]; do
    # The first placeholder's position, for the cursor; not a note.
    if [[ $line == cmdai-cursor:[0-9]* && ${line#cmdai-cursor:} != *[^0-9]* ]]; then
      cursor=${line#cmdai-cursor:}
    elif [[ -n $line ]]; then
      notes+=("$line")
    fi
  done <"$errfile"
  command rm -f -- "$errfile"

  if ((rc == 0)) && [[ -n $out ]]; then
    ((${#notes[@]})) && __cmdai_say "${notes[@]}"
    if ((alternative)); then
      __cmdai_avoid+=("$out")
    elif [[ -n $instruction ]]; then
      __cmdai_avoid=("$out")
    else
      print -rs -- "$req"
      __cmdai_avoid=("$out")
    fi
    __cmdai_last_request=$req
    __cmdai_last_result=$out
    __cmdai_offer_request=$req
    __cmdai_offer=$out
    BUFFER=$out
    # On the first placeholder to fill in, else at the end.
    # shellcheck disable=SC2034 # zle reads CURSOR
    CURSOR=${cursor:-${#BUFFER}}
  elif ((rc == 5)); then
    # Blocked: shown above the prompt, never on the line (Enter must not run
    # it, whatever the options); the request goes back on the line.
    local blocked='' note
    for note in "${notes[@]}"; do
      [[ $note == "$__cmdai_blocked_prefix"* ]] && blocked=${note#"$__cmdai_blocked_prefix"}
    done
    __cmdai_say "${notes[@]}" "cmdai: your request is back on the line; press the key again for a different command"
    if ((alternative)) || [[ -n $instruction ]]; then
      [[ -n $blocked ]] && __cmdai_avoid+=("$blocked")
    else
      print -rs -- "$req"
      __cmdai_avoid=()
      [[ -n $blocked ]] && __cmdai_avoid=("$blocked")
    fi
    __cmdai_last_request=$req
    __cmdai_last_result=$req
    __cmdai_offer=''
    __cmdai_offer_request=''
    BUFFER=$req
    # shellcheck disable=SC2034 # zle reads CURSOR
    CURSOR=${#BUFFER}
  elif ((${#notes[@]})); then
    __cmdai_say "${notes[-1]}"
  elif ((rc == 0)); then
    __cmdai_say "cmdai: no command came back; your request is unchanged"
  elif ((rc > 128)); then
    __cmdai_say "cmdai: interrupted; your request is unchanged"
  else
    __cmdai_say "cmdai: failed (exit status $rc); your request is unchanged"
  fi
  zle -R
  return 0
}

# Alt-E: explains the command on the line, above the prompt; the line stays.
__cmdai_explain_widget() {
  emulate -L zsh
  if [[ -z ${BUFFER//[[:space:]]/} ]]; then
    __cmdai_say "cmdai: put a command on the line first (type it, or recall it with Up), then press Alt-E to have it explained"
    return 0
  fi
  if [[ ! -x $__cmdai_bin ]]; then
    __cmdai_say "cmdai: $__cmdai_bin is missing; reinstall cmdai, then run: eval \"\$(cmdai init zsh)\""
    return 0
  fi
  zle -I
  # shellcheck disable=SC2317 # zsh calls TRAPINT on Ctrl-C
  TRAPINT() { return 0; }
  (
    trap 'exit 130' INT
    CMDAI_SHELL=zsh command "$__cmdai_bin" explain -- "$BUFFER" </dev/null >&2
  )
  (($? > 128)) && print -ru2 -- "cmdai: interrupted"
  zle -R
  return 0
}

zle -N __cmdai_widget
zle -N __cmdai_explain_widget
autoload -Uz add-zsh-hook
add-zsh-hook preexec __cmdai_preexec

# >>> cmdai key bindings (left out by `cmdai init zsh --no-bind`)
typeset -g __cmdai_key=__CMDAI_KEY__
bindkey -M emacs "$__cmdai_key" __cmdai_widget
bindkey -M viins "$__cmdai_key" __cmdai_widget
bindkey -M vicmd "$__cmdai_key" __cmdai_widget
typeset -g __cmdai_explain_key=__CMDAI_EXPLAIN_KEY__
bindkey -M emacs "$__cmdai_explain_key" __cmdai_explain_widget
bindkey -M viins "$__cmdai_explain_key" __cmdai_explain_widget
bindkey -M vicmd "$__cmdai_explain_key" __cmdai_explain_widget
# <<< cmdai key bindings
