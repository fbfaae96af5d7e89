package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/auth"
)

func token(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./data", "data directory of the server (holds the generated signing secret)")
	user := fs.String("user", "", "user id the token authenticates (A-Z a-z 0-9 _ -, up to 64)")
	ttl := fs.Duration("ttl", 24*time.Hour, "token lifetime")
	secret := fs.String("jwt-secret", "", "HS256 signing secret shared with the server (default: the one in the data dir)")
	aud := fs.String("jwt-audience", "", "aud claim, if the server requires one (--jwt-audience)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *user == "" {
		return errors.New("token: --user is required")
	}
	key, err := signingSecret(*secret, *data, auth.LoadSecret)
	if err != nil {
		return err
	}
	keys, err := auth.New(auth.Config{Secret: key, Audience: *aud})
	if err != nil {
		return err
	}
	tok, err := keys.Issue(natter.UserID(*user), *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// signingSecret is the explicit secret if one is given, else the one kept in
// the data dir (read with load). The key is the secret's text in both
// cases, so --jwt-secret "$(cat DATA/jwt.secret)" is the same key as the file.
func signingSecret(explicit, dataDir string, load func(string) ([]byte, error)) ([]byte, error) {
	if explicit != "" {
		return []byte(explicit), nil
	}
	s, err := load(dataDir)
	if err != nil {
		return nil, fmt.Errorf("signing secret: %w", err)
	}
	return []byte(hex.EncodeToString(s)), nil
}
