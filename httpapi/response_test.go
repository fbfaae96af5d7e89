package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/natter-chat/natter"
)

// statuses is the documented status of every error code (docs/HTTP-API.md).
var statuses = map[string]int{
	natter.EINVALID:      400,
	natter.EUNAUTHORIZED: 401,
	natter.EFORBIDDEN:    403,
	natter.ENOTFOUND:     404,
	natter.ECONFLICT:     409,
	natter.EEPOCH:        409,
	natter.ETOOLARGE:     413,
	natter.ERATELIMIT:    429,
	natter.EQUOTA:        429,
	natter.ESLOWMODE:     429,
	natter.EBANNED:       403,
	natter.EMUTED:        403,
	natter.EINTERNAL:     500,
	natter.EUNAVAILABLE:  503,
}

// TestEveryCodeHasStatus reads the codes from error.go itself, so that a
// code added there without a row in statuses (and a case in Status) fails
// here instead of silently becoming a 500.
func TestEveryCodeHasStatus(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../error.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || !strings.HasPrefix(vs.Names[0].Name, "E") || len(vs.Values) != 1 {
			return true
		}
		lit, ok := vs.Values[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		code, _ := strconv.Unquote(lit.Value)
		n++
		if _, ok := statuses[code]; !ok {
			t.Errorf("%s (%q) has no status in the table", vs.Names[0].Name, code)
		}
		return true
	})
	if n != len(statuses) {
		t.Errorf("error.go declares %d codes, the table has %d", n, len(statuses))
	}
}

func TestWriteError(t *testing.T) {
	type row struct {
		name       string
		err        error
		status     int
		code, msg  string
		logged     bool // at any level
		wwwAuthHdr bool
	}
	var rows []row
	for code, st := range statuses {
		r := row{name: code, err: natter.Errorf(code, "detail of %s", code), status: st, code: code, msg: "detail of " + code}
		if st == 500 {
			// EINTERNAL's own message is never shown either.
			r.msg, r.logged = "internal error", true
		}
		r.logged = r.logged || st == 503
		r.wwwAuthHdr = st == 401
		rows = append(rows, r)
	}
	rows = append(rows,
		row{name: "plain error", err: errors.New("sqlite: disk I/O error at /secret/path"), status: 500, code: natter.EINTERNAL, msg: "internal error", logged: true},
		row{name: "wrapped", err: fmt.Errorf("kv: %w", natter.Errorf(natter.EFORBIDDEN, "not a member of this room")), status: 403, code: natter.EFORBIDDEN, msg: "not a member of this room"},
		row{name: "unknown code", err: natter.Errorf("made-up", "secret detail"), status: 500, code: natter.EINTERNAL, msg: "internal error", logged: true},
	)
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			var logBuf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logBuf, nil))
			w := httptest.NewRecorder()
			WriteError(w, httptest.NewRequest("GET", "/api/x", nil), log, tc.err)

			if w.Code != tc.status {
				t.Errorf("status = %d, want %d", w.Code, tc.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if ns := w.Header().Get("X-Content-Type-Options"); ns != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", ns)
			}
			if got := w.Header().Get("WWW-Authenticate") == "Bearer"; got != tc.wwwAuthHdr {
				t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
			}
			want := fmt.Sprintf(`{"error":{"code":%q,"message":%q}}`+"\n", tc.code, tc.msg)
			if w.Body.String() != want {
				t.Errorf("body = %s, want %s", w.Body.String(), want)
			}
			if logged := strings.Contains(logBuf.String(), tc.err.Error()); logged != tc.logged {
				t.Errorf("logged = %v, want %v; log: %s", logged, tc.logged, logBuf.String())
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSON(w, httptest.NewRequest("GET", "/", nil), nil, http.StatusCreated, map[string]int{"a": 1})
	if w.Code != 201 || w.Body.String() != `{"a":1}`+"\n" || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("got %d %q %q", w.Code, w.Body.String(), w.Header())
	}

	// A value that cannot be encoded is a 500, not a truncated 201.
	w = httptest.NewRecorder()
	WriteJSON(w, httptest.NewRequest("GET", "/", nil), nil, http.StatusCreated, math.Inf(1))
	var body ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 500 || body.Error.Code != natter.EINTERNAL {
		t.Errorf("unencodable: %d %s (%v)", w.Code, w.Body.String(), err)
	}
}
