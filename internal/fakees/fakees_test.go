package fakees

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, url, body string, gz bool) (int, map[string]any) {
	t.Helper()
	var b bytes.Buffer
	if gz {
		w := gzip.NewWriter(&b)
		io.WriteString(w, body)
		w.Close()
	} else {
		b.WriteString(body)
	}
	req, _ := http.NewRequest(http.MethodPost, url+"/_bulk", &b)
	req.Header.Set("Content-Type", "application/x-ndjson")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func statuses(out map[string]any) []int {
	var s []int
	items, _ := out["items"].([]any)
	for _, it := range items {
		for _, v := range it.(map[string]any) {
			s = append(s, int(v.(map[string]any)["status"].(float64)))
		}
	}
	return s
}

func TestBulkSemantics(t *testing.T) {
	s := Start(t)
	body := `{"create":{"_index":"i","_id":"1"}}
{"a":"x","o":{"b":"y"}}
{"create":{"_index":"i","_id":"1"}}
{"a":"x"}
{"create":{"_index":"i","_id":"2"}}
{"a":"x","a":"y"}
{"create":{"_index":"i","_id":"3"}}
{"o":"concrete"}
{"create":{"_index":"i","_id":"4"}}
{"o.b":"dotted is the object path"}
`
	code, out := post(t, s.URL, body, true)
	if code != 200 || out["errors"] != true {
		t.Fatalf("%d %v", code, out)
	}
	if got := statuses(out); len(got) != 5 || got[0] != 201 || got[1] != 409 || got[2] != 400 || got[3] != 400 || got[4] != 201 {
		t.Fatalf("statuses %v", got)
	}
	if st := s.Stats(); st.Created != 2 || st.Conflicts != 1 || st.Rejected != 2 || st.Gzipped != 1 {
		t.Fatalf("stats %+v", st)
	}
	s.SetMaxContentLength(10)
	if code, _ := post(t, s.URL, body, false); code != 413 {
		t.Fatalf("413 expected, got %d", code)
	}
	s.SetMaxContentLength(1 << 20)
	s.SetItemHook(func(it Item) ItemFailure {
		if it.ID == "9" {
			return ItemFailure{Status: 429, Type: "es_rejected_execution_exception", Reason: "queue full"}
		}
		return ItemFailure{}
	})
	_, out = post(t, s.URL, "{\"create\":{\"_index\":\"i\",\"_id\":\"9\"}}\n{}\n", false)
	if got := statuses(out); len(got) != 1 || got[0] != 429 {
		t.Fatalf("hook: %v", got)
	}
	if docs := s.Docs("i"); len(docs) != 2 || docs[0].ID != "1" || docs[1].ID != "4" {
		t.Fatalf("docs %+v", docs)
	}
	resp, err := http.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatal("no product header")
	}
}

func TestDiscard(t *testing.T) {
	s := Start(t)
	s.SetDiscard(true)
	body := strings.Repeat("{\"create\":{\"_index\":\"i\",\"_id\":\"1\"}}\n{\"a\":1}\n", 3)
	_, out := post(t, s.URL, body, false)
	if got := statuses(out); len(got) != 3 || got[2] != 201 || len(s.Docs("")) != 0 || s.Stats().Created != 3 {
		t.Fatalf("%v %+v", got, s.Stats())
	}
}
