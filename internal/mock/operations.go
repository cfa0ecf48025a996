package mock

import (
	"net/http"
	"strconv"
	"time"
)

// DALL-E 2 on Azure is asynchronous: a submission answers 202 with an
// operation-location to poll, and only the resource that took the job
// knows it (see objects).

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

// poll counts a poll of the job id and returns a copy of it.
func (c *call) poll(id string) (job, bool) {
	var j job
	ok := c.s.jobs.with(id, func(p *job) {
		p.polls++
		j = *p
	})
	return j, ok
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
	j := job{id: c.jobID(), created: time.Now(), prompt: req.Prompt, n: req.N}
	c.s.jobs.add(j.id, j)
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
	j, ok := c.poll(c.route.id)
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
