package mock

import "strconv"

// Image edits and variations: multipart forms with the pictures to work
// from. They answer like generations, the pictures drawn from the prompt
// and a hash of every uploaded file, without revised_prompt (DALL-E 2
// sends none for these).

func (c *call) imageEdits()      { c.editImages(true) }
func (c *call) imageVariations() { c.editImages(false) }

// editImages answers an edit (a prompt, one or more images as image or
// image[], an optional mask) or a variation (one image).
func (c *call) editImages(edit bool) {
	f, ok := c.readMultipart(formOptions{})
	if !ok {
		return
	}
	names := []string{"image"}
	if edit {
		names = append(names, "image[]")
	}
	images, ok := c.requireFile(f, names...)
	if !ok {
		return
	}
	prompt := f.value("prompt")
	if edit && prompt == "" {
		badRequest(c.w, "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
		return
	}
	n := 1
	if v := f.value("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			badRequest(c.w, "Invalid type for 'n': expected an integer, but got a string instead.", "n", "invalid_type")
			return
		}
	}
	if !c.checkImageCount(n) {
		return
	}
	b64, ok := c.imageFormat(f.value("response_format"))
	if !ok {
		return
	}
	h := newHasher()
	h.add(prompt)
	for _, img := range append(images, f.filesOf("mask")...) {
		h.addUint(img.hash)
	}
	c.writeImages(h, n, b64, "")
}
