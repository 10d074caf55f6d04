package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
)

// runCompletion implements `finkit completion bash|zsh|fish`: a completion
// script for the shell, generated from the commands and their flags, so it
// never lags behind them.
func runCompletion(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("completion", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("want one shell: bash, zsh or fish")
	}
	spec := completionSpec(ctx)
	switch fs.Arg(0) {
	case "bash":
		writeBashCompletion(e.stdout, spec)
	case "zsh":
		fmt.Fprint(e.stdout, "# finkit completion for zsh: source <(finkit completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n")
		writeBashCompletion(e.stdout, spec)
	case "fish":
		writeFishCompletion(e.stdout, spec)
	default:
		return usageErrorf("unknown shell %q: want bash, zsh or fish", fs.Arg(0))
	}
	return nil
}

// cmdSpec is what completion knows of one command or subcommand.
type cmdSpec struct {
	name    string // "pdf" or "user add"
	summary string
	subs    []string
	flags   []*flag.Flag
}

// completionSpec asks every command (and subcommand) for its flags by
// running it with -h and an env that captures the flag set.
func completionSpec(ctx context.Context) []cmdSpec {
	var specs []cmdSpec
	flagsOf := func(c command, args ...string) []*flag.Flag {
		var got []*flag.Flag
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.DiscardHandler),
			onFlags: func(_ string, fs *flag.FlagSet) { fs.VisitAll(func(f *flag.Flag) { got = append(got, f) }) }}
		_ = c.run(ctx, e, append(args, "-h"))
		return got
	}
	for _, c := range commands() {
		if c.run == nil {
			specs = append(specs, cmdSpec{name: c.name, summary: c.summary})
			continue
		}
		s := cmdSpec{name: c.name, summary: c.summary, subs: subcommands(c), flags: flagsOf(c)}
		specs = append(specs, s)
		for _, sub := range s.subs {
			specs = append(specs, cmdSpec{name: c.name + " " + sub, flags: flagsOf(c, sub)})
		}
	}
	return specs
}

// subcommands are the first words of cmd.args' alternatives that are
// words ("import FILE.csv | report … | export …").
func subcommands(c command) []string {
	if !strings.Contains(c.args, "|") && !strings.HasPrefix(c.args, "add") {
		return nil
	}
	var subs []string
	for _, alt := range strings.Split(c.args, "|") {
		w, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
		if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyz-") == "" && !strings.HasPrefix(w, "-") && !slices.Contains(subs, w) {
			subs = append(subs, w)
		}
	}
	return subs
}

func flagNames(fl []*flag.Flag) string {
	names := make([]string, 0, len(fl))
	for _, f := range fl {
		names = append(names, "--"+f.Name)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

func writeBashCompletion(w io.Writer, specs []cmdSpec) {
	var top []string
	for _, s := range specs {
		if !strings.Contains(s.name, " ") {
			top = append(top, s.name)
		}
	}
	fmt.Fprintf(w, `# finkit completion for bash: source <(finkit completion bash)
_finkit() {
	local cur="${COMP_WORDS[COMP_CWORD]}" cmd="${COMP_WORDS[1]}" sub="${COMP_WORDS[2]}" subs="" flags=""
	if [[ $COMP_CWORD -eq 1 ]]; then
		COMPREPLY=($(compgen -W "%s" -- "$cur"))
		return
	fi
	case "$cmd" in
`, strings.Join(top, " "))
	for _, s := range specs {
		if strings.Contains(s.name, " ") || s.name == "help" {
			continue
		}
		fmt.Fprintf(w, "\t%s)\n\t\tsubs=%q flags=%q\n", s.name, strings.Join(s.subs, " "), flagNames(s.flags))
		if len(s.subs) > 0 {
			fmt.Fprintf(w, "\t\tcase \"$sub\" in\n")
			for _, sub := range s.subs {
				sf := specFor(specs, s.name+" "+sub)
				fmt.Fprintf(w, "\t\t%s) flags=%q ;;\n", sub, flagNames(sf.flags)+" "+flagNames(s.flags))
			}
			fmt.Fprintf(w, "\t\tesac\n")
		}
		fmt.Fprintf(w, "\t\t;;\n")
	}
	fmt.Fprintf(w, "\thelp) subs=%q ;;\n", strings.Join(top, " "))
	fmt.Fprint(w, `	esac
	if [[ $COMP_CWORD -eq 2 && -n $subs && $cur != -* ]]; then
		COMPREPLY=($(compgen -W "$subs" -- "$cur"))
	elif [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$flags" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -o filenames -F _finkit finkit
`)
}

func specFor(specs []cmdSpec, name string) cmdSpec {
	for _, s := range specs {
		if s.name == name {
			return s
		}
	}
	return cmdSpec{name: name}
}

func writeFishCompletion(w io.Writer, specs []cmdSpec) {
	fmt.Fprintln(w, "# finkit completion for fish: finkit completion fish | source")
	fmt.Fprintln(w, "complete -c finkit -f")
	for _, s := range specs {
		top, sub, isSub := strings.Cut(s.name, " ")
		if !isSub {
			fmt.Fprintf(w, "complete -c finkit -n __fish_use_subcommand -a %s -d %s\n", top, fishQuote(s.summary))
			for _, x := range s.subs {
				fmt.Fprintf(w, "complete -c finkit -n '__fish_seen_subcommand_from %s' -a %s\n", top, x)
			}
		}
		cond := "__fish_seen_subcommand_from " + top
		if isSub {
			cond += "; and __fish_seen_subcommand_from " + sub
		}
		for _, f := range s.flags {
			_, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "complete -c finkit -n %s -l %s -d %s\n", fishQuote(cond), f.Name, fishQuote(usage))
		}
	}
}

// fishQuote single-quotes s for fish (which escapes \ and ' inside).
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
