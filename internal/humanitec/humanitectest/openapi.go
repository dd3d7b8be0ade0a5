package humanitectest

import (
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

var (
	docOnce sync.Once
	doc     *openapi3.T
	docErr  error
)

// Document returns Humanitec's OpenAPI document as the fake validates with
// it: loaded once per test binary, with request bodies made strict (see
// strictRequestBodies). It must not be changed.
func Document() (*openapi3.T, error) {
	docOnce.Do(func() {
		l := openapi3.NewLoader()
		d, err := l.LoadFromData(openapiJSON)
		if err != nil {
			docErr = fmt.Errorf("load the Humanitec OpenAPI document: %w", err)
			return
		}
		strictRequestBodies(d)
		doc = d
	})
	return doc, docErr
}

// strictRequestBodies forbids properties a request-body schema does not name,
// wherever the document left that open: the real API ignores an unknown
// field, so a misspelt one would pass unnoticed in production. Schemas that
// say what extra properties may hold (driver inputs, maps) keep their word,
// and composed schemas (allOf, oneOf, anyOf) are left alone because
// closing one part would reject the others' properties.
func strictRequestBodies(d *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		sc := ref.Value
		seen[sc] = true
		composed := len(sc.AllOf)+len(sc.OneOf)+len(sc.AnyOf) > 0
		ap := sc.AdditionalProperties
		if !composed && len(sc.Properties) > 0 && ap.Has == nil && ap.Schema == nil {
			no := false
			sc.AdditionalProperties.Has = &no
		}
		for _, p := range sc.Properties {
			walk(p)
		}
		walk(sc.Items)
	}
	for _, item := range d.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			for _, mt := range op.RequestBody.Value.Content {
				walk(mt.Schema)
			}
		}
	}
}
