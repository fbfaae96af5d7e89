package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// envName is the environment variable that backs a flag: --jwt-secret is
// NATTER_JWT_SECRET.
func envName(flagName string) string {
	return "NATTER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args, then fills every flag not given on the command line
// from its environment variable, then, if fs has a --config flag that names
// a file, every flag still unset from that file. The order of precedence
// is therefore flag > environment > file > default.
func parse(fs *flag.FlagSet, args []string) error {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: natter %s [flags]\n\nEvery flag can also be set by its environment variable, or by its name in the --config file.\n\n", fs.Name())
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(fs.Output(), "  --%s  [%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
			set[f.Name] = true
		}
	})
	if err != nil {
		return err
	}
	f := fs.Lookup("config")
	if f == nil {
		return nil
	}
	c, ok := f.Value.(*configFlag)
	if !ok || c.path == "" {
		return nil
	}
	vals, err := readConfig(c.path, c.known)
	if err != nil {
		return err
	}
	return applyConfig(fs, c, vals, set)
}
