package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Option layering for ship: defaults < config file < environment < flags.
// A repeatable flag takes its values from the highest layer that sets it
// (a --match on the command line replaces the config file's matches).

// layers tells listFlags which source is setting them.
type layers struct{ current int }

// listFlag is a repeatable flag; each value may also be a comma list.
type listFlag struct {
	l      *layers
	layer  int
	values []string
}

func (f *listFlag) String() string {
	if f == nil {
		return ""
	}
	return strings.Join(f.values, ",")
}

func (f *listFlag) Set(s string) error {
	if f.l != nil && f.l.current != f.layer {
		f.values, f.layer = nil, f.l.current
	}
	f.values = append(f.values, splitList(s)...)
	return nil
}

// configAliases map the Fluent Bit plugin's keys onto ship's flags where
// the names differ, so one set of key names works for both.
var configAliases = map[string]string{
	"policy-file":      "policy",
	"dead-letter-path": "dead-letter-file",
	"query-params":     "es-param",
}

// applyConfigFile sets flags from a YAML mapping of flag names (snake_case
// or kebab-case) to scalars or lists of scalars.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := strings.ReplaceAll(strings.ToLower(k), "_", "-")
		if a, ok := configAliases[name]; ok {
			name = a
		}
		if name == "config" || fs.Lookup(name) == nil {
			return fmt.Errorf("config file %s: unknown key %q (keys are the flag names of 'nri-audit ship -h')", path, k)
		}
		var values []string
		switch v := m[k].(type) {
		case []any:
			for _, item := range v {
				values = append(values, scalar(item))
			}
		case map[string]any:
			// es-header / es-param as a mapping.
			sub := make([]string, 0, len(v))
			for sk := range v {
				sub = append(sub, sk)
			}
			sort.Strings(sub)
			for _, sk := range sub {
				values = append(values, sk+"="+scalar(v[sk]))
			}
		case nil:
			continue
		default:
			values = []string{scalar(v)}
		}
		if name == "es-param" && len(values) == 1 && strings.Contains(values[0], "&") {
			values = strings.Split(values[0], "&") // the plugin's query_params syntax
		}
		for _, v := range values {
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("config file %s: %s: %w", path, k, err)
			}
		}
	}
	return nil
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// applyEnv sets each flag of envs from its variable, when set.
func applyEnv(fs *flag.FlagSet, envs map[string]string, getenv func(string) string) error {
	names := make([]string, 0, len(envs))
	for n := range envs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		v := getenv(envs[name])
		if v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("$%s: %w", envs[name], err)
		}
	}
	return nil
}

// configPath finds --config in args (before flags are parsed: it must be
// applied first), else the environment.
func configPath(args []string, getenv func(string) string) (string, error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, p := range []string{"-config", "--config"} {
			if a == p {
				if i+1 >= len(args) {
					return "", errors.New("flag needs an argument: " + p)
				}
				return args[i+1], nil
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v, nil
			}
		}
	}
	return getenv("NRI_AUDIT_CONFIG"), nil
}
