package mock

// The mock's "model": an answer is a run of lorem-ipsum words picked by a
// hash of the prompt, so the same prompt always gets the same answer and
// different prompts get different ones. One word is one token.

const (
	// DefaultAnswerTokens is the length of an answer when the request sets
	// no lower max_tokens / max_completion_tokens. An answer cut short by
	// the limit ends with finish_reason "length".
	DefaultAnswerTokens = 32
	// charsPerToken is the rough ratio used to count prompt tokens.
	charsPerToken = 4
)

var loremWords = [64]string{
	"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit",
	"sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et",
	"dolore", "magna", "aliqua", "enim", "ad", "minim", "veniam", "quis",
	"nostrud", "exercitation", "ullamco", "laboris", "nisi", "aliquip", "ex", "ea",
	"commodo", "consequat", "duis", "aute", "irure", "in", "reprehenderit", "voluptate",
	"velit", "esse", "cillum", "fugiat", "nulla", "pariatur", "excepteur", "sint",
	"occaecat", "cupidatat", "non", "proident", "sunt", "culpa", "qui", "officia",
	"deserunt", "mollit", "anim", "id", "est", "laborum", "spillway", "mock",
}

// Token spellings are built once so that streaming a token costs no
// allocation: the first token is capitalised, later ones carry the
// leading space real tokenizers put on words.
var (
	firstTokens [len(loremWords)]string
	laterTokens [len(loremWords)]string
)

func init() {
	for i, w := range loremWords {
		firstTokens[i] = string(w[0]-'a'+'A') + w[1:]
		laterTokens[i] = " " + w
	}
}

// answer is a generated completion: n tokens drawn from seed.
type answer struct {
	seed   uint64
	n      int
	finish string // "stop" or "length"
}

// newAnswer sizes the answer for a request limit (0: none).
func newAnswer(seed uint64, limit int) answer {
	a := answer{seed: seed, n: DefaultAnswerTokens, finish: "stop"}
	if limit > 0 && limit < a.n {
		a.n, a.finish = limit, "length"
	}
	return a
}

// token returns the text of token i; a complete answer ends with a period.
func (a answer) token(i int) (text string, period bool) {
	w := splitmix(a.seed+uint64(i)) % uint64(len(loremWords))
	period = i == a.n-1 && a.finish == "stop"
	if i == 0 {
		return firstTokens[w], period
	}
	return laterTokens[w], period
}

// appendText appends the whole answer, already valid inside a JSON string.
func (a answer) appendText(b []byte) []byte {
	for i := range a.n {
		t, period := a.token(i)
		b = append(b, t...)
		if period {
			b = append(b, '.')
		}
	}
	return b
}

// splitmix is SplitMix64's output function: a cheap, well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hasher is FNV-1a, fed string by string without allocating.
type hasher uint64

func newHasher() hasher { return 14695981039346656037 }

func (h *hasher) add(s string) {
	x := uint64(*h)
	for i := 0; i < len(s); i++ {
		x ^= uint64(s[i])
		x *= 1099511628211
	}
	// A separator keeps ("ab","c") and ("a","bc") apart.
	x ^= 0xff
	x *= 1099511628211
	*h = hasher(x)
}

// addUint mixes x into the hash.
func (h *hasher) addUint(x uint64) {
	*h = hasher(splitmix(uint64(*h) ^ x))
}

// approxTokens counts the tokens of s the rough way: ~4 characters each.
func approxTokens(s string) int {
	return (len(s) + charsPerToken - 1) / charsPerToken
}
