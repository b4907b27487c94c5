package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestSecretFormatting(t *testing.T) {
	s := NewSecret(testPassword, `env("PW")`)
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "pw", s)
	j, err := json.Marshal(map[string]any{"pw": s, "ptr": &s})
	if err != nil {
		t.Fatal(err)
	}
	txt, _ := s.MarshalText()
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %X %d %10s", s, s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %#v", &s, struct{ P Secret }{s}), string(j), string(txt), buf.String(), s.String(), s.GoString(),
	}
	for _, o := range outs {
		if strings.Contains(o, testPassword) || strings.Contains(o, fmt.Sprintf("%x", testPassword)) {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if fmt.Sprint(s) != Redacted || fmt.Sprintf("%#v", s) != "spec.Secret((sensitive value))" || string(j) != `{"ptr":"(sensitive value)","pw":"(sensitive value)"}` {
		t.Errorf("formatting: %s | %#v | %s", s, s, j)
	}
	if s.Reveal() != testPassword || s.Ref() != `env("PW")` || !s.IsSet() || s.IsLiteral() {
		t.Error("accessors")
	}
	var unset Secret
	if unset.IsSet() || unset.Reveal() != "" || unset.String() != "(not set)" || unset.Ref() != "" {
		t.Error("zero Secret")
	}
	if !s.Equal(NewSecret(testPassword, LiteralRef)) || s.Equal(unset) || s.Equal(NewSecret("other", `env("PW")`)) {
		t.Error("Equal")
	}
}

// TestSecretsNeverShown loads specs holding a known password, read through
// env(), through file(), and written as a literal, with errors and warnings
// around it, and checks the password is in no diagnostic, no snippet, and no
// rendering of the Spec.
func TestSecretsNeverShown(t *testing.T) {
	srcs := map[string]string{
		"env": tpl{
			repl:     `auth_method = "md5"`,
			defaults: `admin_dsn = env("PW")`,
			primary:  `port = env("PW")`,
			standby:  `settings = { application_name = env("PW"), cluster_name = file(env("PW")), work_mem = trimspace(env("PW")) }`,
		}.src(),
		"env valid": tpl{defaults: `admin_dsn = file("dsn")`}.src(),
		"file":      strings.Replace(tpl{primary: `host2 = 1`}.src(), `env("PW")`, `file("secrets/pw")`, 1),
		"literal": strings.Replace(tpl{primary: `admin_dsn = "user=postgres password=` + testPassword + `"`, standby: `settings = { bogus = 1 }`}.src(),
			`env("PW")`, `"`+testPassword+`"`, 1),
		"env of env":   strings.Replace(tpl{}.src(), `env("PW")`, `env(env("PW"))`, 1),
		"syntax error": strings.Replace(tpl{}.src(), `env("PW")`, `"`+testPassword+`"`, 1) + "}}",
	}
	for name, src := range srcs {
		t.Run(name, func(t *testing.T) {
			s, diags := loadString(t, src)
			if name != "env valid" && len(diags) == 0 {
				t.Fatal("no diagnostics: the case tests nothing")
			}
			var out bytes.Buffer
			w := hcl.NewDiagnosticTextWriter(&out, s.DiagnosticFiles(), 78, false)
			if err := w.WriteDiagnostics(diags); err != nil {
				t.Fatal(err)
			}
			j, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			shown := []string{out.String(), string(j), fmt.Sprintf("%v %+v %#v", s, *s, s)}
			for _, c := range s.Clusters {
				shown = append(shown, fmt.Sprintf("%v %+v %#v %+v", *c, *c, *c, c.Replication))
				for _, n := range c.Nodes() {
					nj, _ := json.Marshal(n)
					shown = append(shown, fmt.Sprintf("%v %+v %#v", *n, *n, *n), string(nj))
				}
			}
			for _, d := range diags {
				shown = append(shown, d.Summary, d.Detail, fmt.Sprintf("%#v", d))
			}
			for _, o := range shown {
				if strings.Contains(o, testPassword) {
					t.Errorf("password shown in:\n%s", o)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("diagnostics:\n%s", out.String())
			}
		})
	}
	// The password can still be had, by Reveal only.
	s, _ := loadString(t, srcs["env valid"])
	if s.Clusters[0].Replication.Password.Reveal() != testPassword || !strings.Contains(s.Clusters[0].Primary.AdminDSN.Reveal(), testPassword) {
		t.Error("Reveal lost the secret")
	}
}

func TestMaskSecrets(t *testing.T) {
	src := `cluster "c" {
  replication {
    password = "hunter2"
    user     = "hunter2-is-not-secret-here"
  }
  primary "p" {
    admin_dsn = "host=x password=pw1"
  }
  standby "s" {
    admin_dsn = "host=x user=postgres"
  }
  standby "t" {
    admin_dsn = env("X")
  }
}
`
	got := string(MaskSecrets([]byte(src), "x.hcl"))
	want := strings.NewReplacer(`"hunter2"`, `"*******"`, `"host=x password=pw1"`, `"*******************"`).Replace(src)
	if got != want {
		t.Errorf("MaskSecrets:\n%s\nwant:\n%s", got, want)
	}
	// A syntax error later in the file does not stop the masking.
	if got := string(MaskSecrets([]byte(src+"}}\n"), "x.hcl")); got != want+"}}\n" {
		t.Errorf("MaskSecrets of a broken file:\n%s", got)
	}
	s, diags := LoadSource([]Source{{Name: "x.hcl", Bytes: []byte(src + "}}\n")}}, testOptions())
	if !diags.HasErrors() || string(s.DiagnosticFiles()["x.hcl"].Bytes) != want+"}}\n" {
		t.Errorf("DiagnosticFiles of a broken file:\n%s", s.DiagnosticFiles()["x.hcl"].Bytes)
	}
}
