// Package efktest holds the static checks shared by the tests of the EFK
// demo (examples/efk, docker-compose.yml) and of the Kubernetes manifests
// (deploy/kubernetes): a Dockerfile reader, a Fluent Bit YAML
// configuration check for the nri_audit output, and the resolution of a
// field name against the index template mappings.
//
// Input: file contents. Output: parsed structures and errors that name the
// file, line or key at fault. Nothing here needs Docker, Fluent Bit or
// Elasticsearch.
package efktest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// RepoRoot returns the directory holding go.mod, searched upward from the
// working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("efktest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Instruction is one Dockerfile instruction, continuation lines joined.
type Instruction struct {
	Line  int    // first line, 1-based
	Cmd   string // upper case: FROM, COPY, RUN, ...
	Flags []string
	Args  []string // JSON form decoded, or split on white space
	Raw   string
}

// Stage is one FROM section.
type Stage struct {
	Name  string // AS name, "" when unnamed
	Image string // the FROM image with global ARGs expanded
	Instr []Instruction
}

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Args   map[string]string // global ARGs (before the first FROM) and their defaults
	Stages []Stage
}

// Stage returns the stage called name.
func (d *Dockerfile) Stage(name string) (*Stage, bool) {
	for i := range d.Stages {
		if d.Stages[i].Name == name {
			return &d.Stages[i], true
		}
	}
	return nil, false
}

var argRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// ParseDockerfile reads the subset of the Dockerfile syntax the project
// uses: comments, parser directives, line continuations, JSON and shell
// forms, --flags, global ARGs with defaults.
func ParseDockerfile(data []byte) (*Dockerfile, error) {
	d := &Dockerfile{Args: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	lineNo := 0
	var cur strings.Builder
	start := 0
	flush := func() error {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		in, err := parseInstruction(start, text)
		if err != nil {
			return err
		}
		switch in.Cmd {
		case "FROM":
			if len(in.Args) != 1 && !(len(in.Args) == 3 && strings.EqualFold(in.Args[1], "AS")) {
				return fmt.Errorf("line %d: FROM wants IMAGE [AS NAME]", in.Line)
			}
			st := Stage{Image: expand(in.Args[0], d.Args)}
			if len(in.Args) == 3 {
				st.Name = in.Args[2]
			}
			if strings.Contains(st.Image, "$") {
				return fmt.Errorf("line %d: FROM %s: undefined ARG", in.Line, in.Args[0])
			}
			d.Stages = append(d.Stages, st)
			return nil
		case "ARG":
			if len(d.Stages) == 0 {
				for _, a := range in.Args {
					k, v, _ := strings.Cut(a, "=")
					d.Args[k] = v
				}
				return nil
			}
		}
		if len(d.Stages) == 0 {
			return fmt.Errorf("line %d: %s before the first FROM", in.Line, in.Cmd)
		}
		st := &d.Stages[len(d.Stages)-1]
		st.Instr = append(st.Instr, in)
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = lineNo
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(line)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: file ends inside a continued instruction", start)
	}
	if len(d.Stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return d, nil
}

func parseInstruction(line int, text string) (Instruction, error) {
	cmd, rest, _ := strings.Cut(text, " ")
	in := Instruction{Line: line, Cmd: strings.ToUpper(cmd), Raw: text}
	rest = strings.TrimSpace(rest)
	for strings.HasPrefix(rest, "--") {
		var flag string
		flag, rest, _ = strings.Cut(rest, " ")
		in.Flags = append(in.Flags, flag)
		rest = strings.TrimSpace(rest)
	}
	if strings.HasPrefix(rest, "[") {
		var args []string
		if err := jsonUnmarshal([]byte(rest), &args); err != nil {
			return in, fmt.Errorf("line %d: %s: bad JSON form: %v", line, in.Cmd, err)
		}
		in.Args = args
	} else {
		in.Args = strings.Fields(rest)
	}
	return in, nil
}

func expand(s string, vars map[string]string) string {
	return argRef.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m, "${}")
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}

// Flag returns the value of --name=value, or "".
func (in Instruction) Flag(name string) string {
	for _, f := range in.Flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}
