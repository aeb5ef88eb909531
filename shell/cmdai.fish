# cmdai shell integration for fish (3.1 or newer).
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
# Load it from ~/.config/fish/config.fish:
#
#     cmdai init fish | source
#
# `cmdai init fish --key \cx` binds another key (bind notation; also
# $CMDAI_KEY; $CMDAI_EXPLAIN_KEY for Alt-E); `--no-bind` only defines the
# functions, to bind them yourself: `bind \cx __cmdai_widget` and
# `bind \ee __cmdai_explain_widget` (and the same with `-M insert` for vi
# mode). The keys work with the default (emacs) and the vi key bindings. This
# file is a template that `cmdai init` fills in with the absolute path of the
# cmdai binary and the key.
#
# History: the request is added to the history so it can be recalled. fish 4
# has `history append` for that; older fish has no way to add an entry without
# running it, so there the entry is appended to the history file and merged,
# and nothing is added in private mode (`fish --private`, `--no-config`).

# The cmdai binary (absolute path, filled in by `cmdai init`).
set -g __cmdai_bin __CMDAI_BIN__
# The last request and the command it gave, to offer an alternative when the
# key is pressed again on an unchanged result; every command offered so far
# for that request goes to the binary with --avoid.
set -g __cmdai_last_request
set -g __cmdai_last_result
set -g __cmdai_avoid
# The command the key last put on the line and the request it came from,
# until the next line runs (then it is reported if that line is this command
# or an edit of it, and forgotten either way).
set -g __cmdai_offer
set -g __cmdai_offer_request
# What the binary writes on stderr before a command it blocked (exit 5).
set -g __cmdai_blocked_prefix 'cmdai: blocked, not put on your command line: '

# Prints lines above the prompt: from the start of the row the cursor is on
# (fish notices the output and draws the prompt again below it).
function __cmdai_say
    printf '\r\033[K' >&2
    printf '%s\n' $argv >&2
end

# Adds the request to the history without running it.
function __cmdai_history_add --argument-names req
    if string match -qr '^[0-3]\.' -- $version
        # fish 3: append to the history file (its own format), then merge.
        set -q fish_private_mode; and return 0
        set -l name fish
        if set -q fish_history
            test -z "$fish_history"; and return 0
            test "$fish_history" != default; and set name $fish_history
        end
        set -l dir
        if set -q __fish_user_data_dir
            set dir $__fish_user_data_dir
        else if set -q XDG_DATA_HOME
            set dir $XDG_DATA_HOME/fish
        else
            set dir ~/.local/share/fish
        end
        set -l file $dir/$name"_history"
        test -d $dir; or return 0
        set -l cmd (string replace -a -- '\\' '\\\\' $req | string join '\n')
        printf '%s\n' "- cmd: $cmd" "  when: "(command date +%s) >>$file
        and builtin history merge 2>/dev/null
    else
        builtin history append -- $req
    end
    return 0
end

# True if the line that ran ($ran) is the offered command ($offer) or an edit
# of it: it holds the command, or starts with the same word.
function __cmdai_is_edit --argument-names offer ran
    set ran (string trim -l -- "$ran" | string collect)
    string match -qr -- (string escape --style=regex -- "$offer") "$ran"; and return 0
    set -l first (string split -m1 -f1 ' ' -- (string trim -- "$offer"))
    set -l ran_first (string split -m1 -f1 ' ' -- "$ran")
    test -n "$first"; and test "$ran_first" = "$first"
end

# Runs before each command line: reports the offered command if this line is
# it (or an edit of it), in the background and silently, then forgets it.
function __cmdai_preexec --on-event fish_preexec
    set -l offer "$__cmdai_offer"
    set -l req "$__cmdai_offer_request"
    test -n "$offer"; or return 0
    set -g __cmdai_offer
    set -g __cmdai_offer_request
    __cmdai_is_edit "$offer" "$argv[1]"; or return 0
    command $__cmdai_bin remember --request=$req --offered=$offer --ran=$argv[1] --cwd=$PWD </dev/null >/dev/null 2>&1 &
    disown $last_pid 2>/dev/null
    return 0
end

function __cmdai_widget --description 'cmdai: replace the request on the command line with a shell command'
    set -l buffer (commandline | string collect)
    set -l req "$buffer"
    set -l alternative 0
    set -l instruction
    set -l previous
    if test -n "$__cmdai_last_result"; and test "$buffer" = "$__cmdai_last_result"
        set req $__cmdai_last_request
        set alternative 1
    else if test -n "$__cmdai_offer"; and string match -q -- '* # *' "$buffer"
        # Refine: what follows the last ` # ` (not the command's own) says
        # what to change in the command before it.
        set -l after (string replace -r -- '(?s)^.* # ' '' "$buffer")
        if not string match -qr -- ' # '(string escape --style=regex -- "$after")'$' "$__cmdai_offer"
            set instruction (string trim -- "$after")
            set previous (string replace -r -- '(?s)^(.*) # .*$' '$1' "$buffer" | string trim -r | string collect)
            if test -z "$instruction"
                __cmdai_say "cmdai: write what to change after the ' # ' (e.g. find . -type f # only .log files), then press the key again"
                commandline -f repaint
                return 0
            end
            set req $__cmdai_offer_request
        end
    end
    set -l trimmed (string trim -- "$req")
    if test -z "$trimmed"
        __cmdai_say "cmdai: type what you want to do first (e.g. find large files), then press the key again"
        commandline -f repaint
        return 0
    end
    if not test -x "$__cmdai_bin"
        __cmdai_say "cmdai: $__cmdai_bin is missing; reinstall cmdai, then run: cmdai init fish | source"
        commandline -f repaint
        return 0
    end

    set -l args --widget
    if test $alternative = 1
        for prev in $__cmdai_avoid
            set -a args --avoid $prev
        end
    else if test -n "$instruction"
        set -a args --refine=$instruction --previous=$previous
    end

    set -l errfile (command mktemp (set -q TMPDIR; and echo $TMPDIR; or echo /tmp)/cmdai.XXXXXX)
    or begin
        __cmdai_say "cmdai: cannot create a temporary file"
        commandline -f repaint
        return 0
    end

    # Progress, after the cursor (fish draws the line again afterwards).
    printf '  ⏳ cmdai… (Ctrl-C cancels)' >&2
    # While a handler for SIGINT exists, fish does not cancel this function
    # on Ctrl-C: cmdai stops, and the line is kept as it was.
    function __cmdai_on_sigint --on-signal SIGINT
    end
    set -lx CMDAI_SHELL fish
    set -l out (command $__cmdai_bin $args -- $req 2>$errfile | string collect)
    set -l rc $pipestatus[1]
    functions -e __cmdai_on_sigint
    printf '\r\033[K' >&2

    set -l notes (string match -v -- '' <$errfile)
    command rm -f -- $errfile
    # The first placeholder's position, for the cursor; not a note.
    set -l cursor (string match -r -- '^cmdai-cursor:([0-9]+)$' $notes)[2]
    set notes (string match -v -r -- '^cmdai-cursor:' $notes)

    if test $rc -eq 0; and test -n "$out"
        test (count $notes) -gt 0; and __cmdai_say $notes
        if test $alternative = 1
            set -a __cmdai_avoid $out
        else if test -n "$instruction"
            set __cmdai_avoid $out
        else
            __cmdai_history_add $req
            set __cmdai_avoid $out
        end
        set __cmdai_last_request $req
        set __cmdai_last_result $out
        set -g __cmdai_offer_request $req
        set -g __cmdai_offer $out
        commandline -r -- $out
        # On the first placeholder to fill in, else at the end.
        if test -n "$cursor"
            commandline -C $cursor
        else
            commandline -C (string length -- $out)
        end
    else if test $rc -eq 5
        # Blocked: shown above the prompt, never on the line; the request
        # goes back on the line.
        set -l blocked
        for note in $notes
            if string match -q -- "$__cmdai_blocked_prefix*" $note
                set blocked (string sub -s (math (string length -- $__cmdai_blocked_prefix) + 1) -- $note)
            end
        end
        __cmdai_say $notes "cmdai: your request is back on the line; press the key again for a different command"
        if test $alternative = 1; or test -n "$instruction"
            test -n "$blocked"; and set -a __cmdai_avoid $blocked
        else
            __cmdai_history_add $req
            set __cmdai_avoid
            test -n "$blocked"; and set __cmdai_avoid $blocked
        end
        set __cmdai_last_request $req
        set __cmdai_last_result $req
        set -g __cmdai_offer
        set -g __cmdai_offer_request
        commandline -r -- $req
        commandline -C (string length -- $req)
    else if test (count $notes) -gt 0
        __cmdai_say $notes[-1]
    else if test $rc -eq 0
        __cmdai_say "cmdai: no command came back; your request is unchanged"
    else if test $rc -gt 128
        __cmdai_say "cmdai: interrupted; your request is unchanged"
    else
        __cmdai_say "cmdai: failed (exit status $rc); your request is unchanged"
    end
    commandline -f repaint
    return 0
end

# Alt-E: explains the command on the line, above the prompt; the line stays.
function __cmdai_explain_widget --description 'cmdai: explain the command on the command line'
    set -l buffer (commandline | string collect)
    set -l trimmed (string trim -- "$buffer")
    if test -z "$trimmed"
        __cmdai_say "cmdai: put a command on the line first (type it, or recall it with Up), then press Alt-E to have it explained"
        commandline -f repaint
        return 0
    end
    if not test -x "$__cmdai_bin"
        __cmdai_say "cmdai: $__cmdai_bin is missing; reinstall cmdai, then run: cmdai init fish | source"
        commandline -f repaint
        return 0
    end
    printf '\r\033[K' >&2
    function __cmdai_on_sigint --on-signal SIGINT
    end
    set -lx CMDAI_SHELL fish
    command $__cmdai_bin explain -- $buffer </dev/null >&2
    set -l rc $status
    functions -e __cmdai_on_sigint
    test $rc -gt 128; and printf '%s\n' "cmdai: interrupted" >&2
    commandline -f repaint
    return 0
end

# >>> cmdai key bindings (left out by `cmdai init fish --no-bind`)
# The key in bind notation (e.g. \cg); `string unescape` turns the escapes
# into the characters `bind` matches, as if the key were typed unquoted.
set -g __cmdai_key (string unescape -- __CMDAI_KEY__)
bind $__cmdai_key __cmdai_widget
bind -M insert $__cmdai_key __cmdai_widget
set -g __cmdai_explain_key (string unescape -- __CMDAI_EXPLAIN_KEY__)
bind $__cmdai_explain_key __cmdai_explain_widget
bind -M insert $__cmdai_explain_key __cmdai_explain_widget
# <<< cmdai key bindings
