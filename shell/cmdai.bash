# shellcheck shell=bash
# cmdai shell integration for bash (4.0 or newer).
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
# later gets what you ran. The line is read from the history when the next
# prompt is drawn: a hook runs first in PROMPT_COMMAND, before yours.
#
# Load it from ~/.bashrc (after anything that sets PROMPT_COMMAND):
#
#     eval "$(cmdai init bash)"
#
# `cmdai init bash --key '\C-x\C-g'` binds another key (readline notation;
# also $CMDAI_KEY; $CMDAI_EXPLAIN_KEY for Alt-E); `--no-bind` only defines the
# functions, to bind them yourself: `bind -x '"\C-x\C-g": __cmdai_widget'`
# and `bind -x '"\ee": __cmdai_explain_widget'`. The keys work in the emacs, vi-insert
# and vi-command keymaps. This file is a template that `cmdai init` fills in
# with the absolute path of the cmdai binary and the key.
#
# bash 3.2 (the one macOS ships) cannot edit the command line from a key
# binding; there the key only says so (and loading it says so once).

# The cmdai binary (absolute path, filled in by `cmdai init`).
__cmdai_bin=__CMDAI_BIN__

if [ "${BASH_VERSINFO[0]:-0}" -lt 4 ]; then
  __cmdai_widget() {
    printf 'cmdai: the key needs bash 4 or newer to edit the command line (this is bash %s); run cmdai <request> instead, or install a newer bash\n' "$BASH_VERSION" >&2
  }
  __cmdai_explain_widget() {
    printf 'cmdai: the key needs bash 4 or newer to read the command line (this is bash %s); run cmdai explain -- <command> instead\n' "$BASH_VERSION" >&2
  }
  # Said once per user, not at every shell start.
  __cmdai_notice="${XDG_CACHE_HOME:-$HOME/.cache}/cmdai/bash3-notice"
  if [ ! -e "$__cmdai_notice" ]; then
    __cmdai_widget
    mkdir -p "${__cmdai_notice%/*}" 2>/dev/null && : >"$__cmdai_notice" 2>/dev/null
  fi
  unset __cmdai_notice
else
  # The last request and the command it gave, to offer an alternative when
  # the key is pressed again on an unchanged result; every command offered so
  # far for that request goes to the binary with --avoid.
  __cmdai_last_request=''
  __cmdai_last_result=''
  __cmdai_avoid=()
  # The command the key last put on the line, the request it came from and
  # the number of the newest history entry then, until the next prompt (the
  # line that ran is reported if it is this command or an edit of it, and the
  # offer is forgotten either way).
  __cmdai_offer=''
  __cmdai_offer_request=''
  __cmdai_offer_hist=''
  # What the binary writes on stderr before a command it blocked (exit 5).
  __cmdai_blocked_prefix='cmdai: blocked, not put on your command line: '

  # Clears the progress line. bash has already cleared the prompt line before
  # running the widget and draws prompt and buffer again after it, below
  # whatever was printed.
  __cmdai_clear_progress() {
    printf '\r\033[K' >&2
  }

  # The newest history entry: its number, a space and a mark (`*` if it was
  # edited), then the line. (`fc -l` would skip it, taking it for itself.)
  __cmdai_hist_last() {
    local last
    last=$(HISTTIMEFORMAT='' builtin history 1 2>/dev/null)
    printf '%s' "${last#"${last%%[![:space:]]*}"}"
  }

  # True if the line that ran ($2) is the offered command ($1) or an edit of
  # it: it holds the command, or starts with the same word.
  __cmdai_is_edit() {
    local ran=${2#"${2%%[![:space:]]*}"}
    [[ $ran == *"$1"* ]] && return 0
    local first=${1%%[[:space:]]*}
    [[ -n $first && ${ran%%[[:space:]]*} == "$first" ]]
  }

  # First in PROMPT_COMMAND: if a line ran since the offer (a new history
  # entry), reports it when it is the offered command or an edit of it, in
  # the background and silently; then forgets the offer. Keeps $? for the
  # rest of PROMPT_COMMAND and the prompt.
  __cmdai_prompt_hook() {
    local rc=$?
    if [[ -n $__cmdai_offer ]]; then
      local last num ran
      last=$(__cmdai_hist_last)
      num=${last%%[[:space:]]*}
      if [[ -n $num && $num != "$__cmdai_offer_hist" ]]; then
        ran=${last#"$num"?}
        ran=${ran#' '}
        if __cmdai_is_edit "$__cmdai_offer" "$ran"; then
          (command "$__cmdai_bin" remember --request="$__cmdai_offer_request" --offered="$__cmdai_offer" --ran="$ran" --cwd="$PWD" </dev/null >/dev/null 2>&1 &)
        fi
      fi
      __cmdai_offer=''
      __cmdai_offer_request=''
    fi
    return "$rc"
  }
  if [[ ";${PROMPT_COMMAND[*]:-};" != *";__cmdai_prompt_hook;"* ]]; then
    PROMPT_COMMAND="__cmdai_prompt_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
  fi

  __cmdai_widget() {
    local req=$READLINE_LINE alternative=0 instruction='' previous=''
    if [[ -n $__cmdai_last_result && $READLINE_LINE == "$__cmdai_last_result" ]]; then
      req=$__cmdai_last_request
      alternative=1
    elif [[ -n $__cmdai_offer && $READLINE_LINE == *' # '* && $__cmdai_offer != *" # ${READLINE_LINE##*' # '}" ]]; then
      # Refine: what follows the last ` # ` (not the command's own) says what
      # to change in the command before it.
      instruction=${READLINE_LINE##*' # '}
      previous=${READLINE_LINE%' # '*}
      instruction=${instruction#"${instruction%%[![:space:]]*}"}
      instruction=${instruction%"${instruction##*[![:space:]]}"}
      previous=${previous%"${previous##*[![:space:]]}"}
      if [[ -z $instruction ]]; then
        printf '%s\n' "cmdai: write what to change after the ' # ' (e.g. find . -type f # only .log files), then press the key again" >&2
        return 0
      fi
      req=$__cmdai_offer_request
    fi
    if [[ -z ${req//[[:space:]]/} ]]; then
      printf '%s\n' "cmdai: type what you want to do first (e.g. find large files), then press the key again" >&2
      return 0
    fi
    if [[ ! -x $__cmdai_bin ]]; then
      printf '%s\n' "cmdai: $__cmdai_bin is missing; reinstall cmdai, then run: eval \"\$(cmdai init bash)\"" >&2
      return 0
    fi

    local -a args=(--widget)
    local prev
    if ((alternative)); then
      for prev in "${__cmdai_avoid[@]}"; do
        args+=(--avoid "$prev")
      done
    elif [[ -n $instruction ]]; then
      args+=(--refine="$instruction" --previous="$previous")
    fi

    local errfile out rc saved_int
    errfile=$(command mktemp "${TMPDIR:-/tmp}/cmdai.XXXXXX") || {
      printf '%s\n' "cmdai: cannot create a temporary file in ${TMPDIR:-/tmp}" >&2
      return 0
    }

    # Progress, on the line where the prompt was (one row, no wrapping).
    local shown=${req//[[:cntrl:]]/ }
    local width=$((${COLUMNS:-80} - 16))
    ((width < 10)) && width=10
    ((${#shown} > width)) && shown="${shown:0:width-1}…"
    printf '\r\033[K⏳ cmdai: %s  (Ctrl-C cancels)' "$shown" >&2

    # Ctrl-C stops cmdai but must not reach readline, which would discard the
    # line: a trap catches it for the duration and the old trap comes back.
    saved_int=$(trap -p INT)
    trap ':' INT
    out=$(CMDAI_SHELL=bash command "$__cmdai_bin" "${args[@]}" -- "$req" 2>"$errfile")
    rc=$?
    if [[ -n $saved_int ]]; then
      eval "$saved_int"
    else
      trap - INT
    fi
    __cmdai_clear_progress

    local -a notes=()
    local line cursor=''
    while IFS= read -r line || [[ -n $line ]]; do
      # The first placeholder's position, for the cursor; not a note.
      if [[ $line =~ ^cmdai-cursor:([0-9]+)$ ]]; then
        cursor=${BASH_REMATCH[1]}
      elif [[ -n $line ]]; then
        notes+=("$line")
      fi
    done <"$errfile"
    command rm -f -- "$errfile"

    if ((rc == 0)) && [[ -n $out ]]; then
      ((${#notes[@]})) && printf '%s\n' "${notes[@]}" >&2
      if ((alternative)); then
        __cmdai_avoid+=("$out")
      elif [[ -n $instruction ]]; then
        __cmdai_avoid=("$out")
      else
        history -s -- "$req"
        __cmdai_avoid=("$out")
      fi
      __cmdai_last_request=$req
      __cmdai_last_result=$out
      __cmdai_offer_request=$req
      __cmdai_offer=$out
      __cmdai_offer_hist=$(__cmdai_hist_last)
      __cmdai_offer_hist=${__cmdai_offer_hist%%[[:space:]]*}
      READLINE_LINE=$out
      # On the first placeholder to fill in, else at the end.
      READLINE_POINT=${cursor:-${#out}}
    elif ((rc == 5)); then
      # Blocked: shown above the prompt, never on the line; the request goes
      # back on the line.
      local blocked='' note
      for note in "${notes[@]}"; do
        [[ $note == "$__cmdai_blocked_prefix"* ]] && blocked=${note#"$__cmdai_blocked_prefix"}
      done
      printf '%s\n' "${notes[@]}" "cmdai: your request is back on the line; press the key again for a different command" >&2
      if ((alternative)) || [[ -n $instruction ]]; then
        [[ -n $blocked ]] && __cmdai_avoid+=("$blocked")
      else
        history -s -- "$req"
        __cmdai_avoid=()
        [[ -n $blocked ]] && __cmdai_avoid=("$blocked")
      fi
      __cmdai_last_request=$req
      __cmdai_last_result=$req
      __cmdai_offer=''
      __cmdai_offer_request=''
      READLINE_LINE=$req
      READLINE_POINT=${#req}
    elif ((${#notes[@]})); then
      printf '%s\n' "${notes[${#notes[@]} - 1]}" >&2
    elif ((rc == 0)); then
      printf '%s\n' "cmdai: no command came back; your request is unchanged" >&2
    elif ((rc > 128)); then
      printf '%s\n' "cmdai: interrupted; your request is unchanged" >&2
    else
      printf '%s\n' "cmdai: failed (exit status $rc); your request is unchanged" >&2
    fi
    return 0
  }

  # Alt-E: explains the command on the line, above the prompt; the line stays.
  __cmdai_explain_widget() {
    if [[ -z ${READLINE_LINE//[[:space:]]/} ]]; then
      printf '%s\n' "cmdai: put a command on the line first (type it, or recall it with Up), then press Alt-E to have it explained" >&2
      return 0
    fi
    if [[ ! -x $__cmdai_bin ]]; then
      printf '%s\n' "cmdai: $__cmdai_bin is missing; reinstall cmdai, then run: eval \"\$(cmdai init bash)\"" >&2
      return 0
    fi
    local saved_int rc
    saved_int=$(trap -p INT)
    trap ':' INT
    printf '\r\033[K' >&2
    CMDAI_SHELL=bash command "$__cmdai_bin" explain -- "$READLINE_LINE" </dev/null >&2
    rc=$?
    if [[ -n $saved_int ]]; then
      eval "$saved_int"
    else
      trap - INT
    fi
    ((rc > 128)) && printf '%s\n' "cmdai: interrupted" >&2
    return 0
  }
fi

# >>> cmdai key bindings (left out by `cmdai init bash --no-bind`)
__cmdai_key=__CMDAI_KEY__
bind -m emacs -x "\"$__cmdai_key\": __cmdai_widget"
bind -m vi-insert -x "\"$__cmdai_key\": __cmdai_widget"
bind -m vi-command -x "\"$__cmdai_key\": __cmdai_widget"
__cmdai_explain_key=__CMDAI_EXPLAIN_KEY__
bind -m emacs -x "\"$__cmdai_explain_key\": __cmdai_explain_widget"
bind -m vi-insert -x "\"$__cmdai_explain_key\": __cmdai_explain_widget"
bind -m vi-command -x "\"$__cmdai_explain_key\": __cmdai_explain_widget"
# <<< cmdai key bindings
