package mock

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DALL-E 2 on Azure is asynchronous: a submission answers 202 with an
// operation-location to poll, and only the resource that took the job
// knows it. The mock keeps its jobs in memory, so a poll that reaches
// another mock gets 404, as it would on Azure: that is what lets tests see
// that a gateway sends each poll back where the job was submitted.

const (
	// maxJobs bounds the jobs kept; the oldest go first.
	maxJobs = 10000
	// jobTTL is how long a job can be polled, like Azure's 24 hours but
	// shorter.
	jobTTL = time.Hour
)

// job is one submitted DALL-E 2 request.
type job struct {
	id      string
	created time.Time
	prompt  string
	n       int
	polls   int
}

// jobs holds a server's DALL-E 2 jobs.
type jobs struct {
	mu    sync.Mutex
	byID  map[string]*job
	order []string
}

func (js *jobs) add(j *job) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.byID == nil {
		js.byID = map[string]*job{}
	}
	for len(js.order) > 0 && (len(js.order) >= maxJobs || time.Since(js.byID[js.order[0]].created) > jobTTL) {
		delete(js.byID, js.order[0])
		js.order = js.order[1:]
	}
	js.byID[j.id] = j
	js.order = append(js.order, j.id)
}

// poll counts a poll of id and returns a copy of the job.
func (js *jobs) poll(id string) (job, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.byID[id]
	if !ok {
		return job{}, false
	}
	j.polls++
	return *j, true
}

// jobID is a GUID-shaped id unique to the server and request.
func (c *call) jobID() string {
	h := newHasher()
	h.add(c.s.name)
	x := splitmix(uint64(h) + uint64(c.seq))
	y := splitmix(x)
	s := strconv.FormatUint(x|1<<63, 16) + strconv.FormatUint(y|1<<63, 16)
	return s[0:8] + "-" + s[8:12] + "-4" + s[13:16] + "-8" + s[17:20] + "-" + s[20:32]
}

// submitImages answers POST /openai/images/generations:submit: 202, an
// operation-location pointing at this server, and the job's id and status.
func (c *call) submitImages() {
	req, ok := c.readImageRequest()
	if !ok {
		return
	}
	j := &job{id: c.jobID(), created: time.Now(), prompt: req.Prompt, n: req.N}
	c.s.jobs.add(j)
	c.w.Header()["Operation-Location"] = []string{c.origin() + "/openai/operations/images/" + j.id + "?api-version=" + c.apiVersion}
	b := append([]byte(nil), '{')
	b = appendKV(b, "id", j.id)
	b = append(b, ',')
	b = appendKV(b, "status", "notRunning")
	b = append(b, '}')
	writeJSON(c.w, http.StatusAccepted, b)
}

// imageOperation answers a poll: "running" the first time, then
// "succeeded" with the pictures; 404 for a job this server never took.
func (c *call) imageOperation() {
	j, ok := c.s.jobs.poll(c.route.id)
	if !ok {
		writeAzureError(c.w, http.StatusNotFound, "NotFound", "The operation '"+c.route.id+"' was not found on this resource.")
		return
	}
	b := append([]byte(nil), '{')
	b = appendKInt(b, "created", j.created.Unix())
	b = append(b, ',')
	b = appendKInt(b, "expires", j.created.Add(jobTTL).Unix())
	b = append(b, ',')
	b = appendKV(b, "id", j.id)
	if j.polls == 1 {
		b = append(b, ',')
		b = appendKV(b, "status", "running")
		b = append(b, '}')
		c.w.Header()["Retry-After"] = []string{"1"}
		writeJSON(c.w, http.StatusOK, b)
		return
	}
	base := c.origin() + "/mock/images/"
	h := newHasher()
	h.add(j.prompt)
	b = append(b, `,"result":{`...)
	b = appendKInt(b, "created", j.created.Unix())
	b = append(b, `,"data":[`...)
	for i := range j.n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendKV(b, "url", base+hex6(h.imageRGB(i))+".png")
		b = append(b, '}')
	}
	b = append(b, "]},"...)
	b = appendKV(b, "status", "succeeded")
	b = append(b, '}')
	writeJSON(c.w, http.StatusOK, b)
}
