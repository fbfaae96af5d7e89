package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// configFlag is --config: the path of a TOML file whose keys are flag
// names. It knows the flags of every server role, so that one file can
// serve an edge and a history node alike: a key that no role takes is an
// error, a key this role does not take is ignored (as its environment
// variable would be).
type configFlag struct {
	path  string
	known map[string]bool
}

func (c *configFlag) String() string     { return c.path }
func (c *configFlag) Set(s string) error { c.path = s; return nil }

// readConfig reads the TOML file at path into flag values. Keys are flat
// flag names (addr = "0.0.0.0:8080"); strings, integers, floats and
// booleans become the flag's text, arrays of them are joined with commas
// (the flags that take lists are comma-separated).
func readConfig(path string, known map[string]bool) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return decodeConfig(path, b, known)
}

func decodeConfig(name string, b []byte, known map[string]bool) (map[string]string, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(b), &raw); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first error is the same on every run
	vals := make(map[string]string, len(raw))
	for _, k := range keys {
		if k == "config" || !known[k] {
			return nil, fmt.Errorf("config %s: unknown key %q: keys are the flag names of natter serve, edge and history, without the dashes in front (docs/CONFIG.md)", name, k)
		}
		v, err := configValue(raw[k])
		if err != nil {
			return nil, fmt.Errorf("config %s: %s: %w", name, k, err)
		}
		vals[k] = v
	}
	return vals, nil
}

func configValue(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			s, err := configValue(e)
			if err != nil {
				return "", err
			}
			if _, nested := e.([]any); nested {
				return "", errors.New("nested arrays are not a flag value")
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	case map[string]any:
		return "", errors.New("tables are not a flag value: keys are flat flag names")
	default:
		return "", fmt.Errorf("a %T is not a flag value (write durations and dates as strings, e.g. \"90s\")", v)
	}
}

// applyConfig sets every flag of fs that is in vals and not in set (given
// on the command line or by the environment).
func applyConfig(fs *flag.FlagSet, c *configFlag, vals map[string]string, set map[string]bool) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := vals[f.Name]
		if !ok || set[f.Name] || err != nil {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("config %s: %s = %q: %w", c.path, f.Name, v, e)
		}
	})
	return err
}
