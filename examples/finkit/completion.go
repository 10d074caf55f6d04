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
			nested := nestedSubcommands(c, sub)
			specs = append(specs, cmdSpec{name: c.name + " " + sub, subs: nested, flags: flagsOf(c, sub)})
			for _, n := range nested {
				specs = append(specs, cmdSpec{name: c.name + " " + sub + " " + n, flags: flagsOf(c, sub, n)})
			}
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
	for _, alt := range alternatives(c.args) {
		w, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
		if isSubcommandWord(w) && !slices.Contains(subs, w) {
			subs = append(subs, w)
		}
	}
	return subs
}

// nestedSubcommands are the words after sub in cmd.args' alternatives
// that start with it ("add" and "list" of "account add ID … | account
// list").
func nestedSubcommands(c command, sub string) []string {
	var subs []string
	for _, alt := range alternatives(c.args) {
		words := strings.Fields(alt)
		if len(words) > 1 && words[0] == sub && isSubcommandWord(words[1]) && !slices.Contains(subs, words[1]) {
			subs = append(subs, words[1])
		}
	}
	return subs
}

func isSubcommandWord(w string) bool {
	return w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyz-") == "" && !strings.HasPrefix(w, "-")
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
	local cur="${COMP_WORDS[COMP_CWORD]}" cmd="${COMP_WORDS[1]}" sub="${COMP_WORDS[2]}" sub2="${COMP_WORDS[3]}" subs="" subs2="" flags=""
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
				if len(sf.subs) == 0 {
					fmt.Fprintf(w, "\t\t%s) flags=%q ;;\n", sub, flagNames(sf.flags)+" "+flagNames(s.flags))
					continue
				}
				fmt.Fprintf(w, "\t\t%s)\n\t\t\tsubs2=%q flags=%q\n\t\t\tcase \"$sub2\" in\n", sub, strings.Join(sf.subs, " "), flagNames(sf.flags)+" "+flagNames(s.flags))
				for _, n := range sf.subs {
					nf := specFor(specs, sf.name+" "+n)
					fmt.Fprintf(w, "\t\t\t%s) flags=%q ;;\n", n, flagNames(nf.flags)+" "+flagNames(s.flags))
				}
				fmt.Fprintf(w, "\t\t\tesac\n\t\t\t;;\n")
			}
			fmt.Fprintf(w, "\t\tesac\n")
		}
		fmt.Fprintf(w, "\t\t;;\n")
	}
	fmt.Fprintf(w, "\thelp) subs=%q ;;\n", strings.Join(top, " "))
	fmt.Fprint(w, `	esac
	if [[ $COMP_CWORD -eq 2 && -n $subs && $cur != -* ]]; then
		COMPREPLY=($(compgen -W "$subs" -- "$cur"))
	elif [[ $COMP_CWORD -eq 3 && -n $subs2 && $cur != -* ]]; then
		COMPREPLY=($(compgen -W "$subs2" -- "$cur"))
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
	// Command words turn file names off where they are offered (-f); a
	// command's arguments still complete as files (pdf page.html).
	for _, s := range specs {
		words := strings.Fields(s.name)
		cond := "__fish_seen_subcommand_from " + words[0]
		for _, word := range words[1:] {
			cond += "; and __fish_seen_subcommand_from " + word
		}
		if len(words) == 1 {
			fmt.Fprintf(w, "complete -c finkit -n __fish_use_subcommand -f -a %s -d %s\n", words[0], fishQuote(s.summary))
		}
		// Until one of them is typed: then its arguments are files again
		// (portfolio import FILE.csv).
		for _, x := range s.subs {
			fmt.Fprintf(w, "complete -c finkit -n %s -f -a %s\n", fishQuote(cond+"; and not __fish_seen_subcommand_from "+strings.Join(s.subs, " ")), x)
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
