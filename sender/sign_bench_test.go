package sender

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// okClient answers every request with an empty 200, without a network.
type okClient struct{}

func (okClient) Do(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), ContentLength: 0}, nil
}

// BenchmarkDirectPost measures what direct adds to each broadcast send
// besides the network: building and signing the request (the payload hash
// computed once, as Broadcast does).
//
//	go test -run '^$' -bench DirectPost -benchmem ./sender
func BenchmarkDirectPost(b *testing.B) {
	creds := aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""))
	d, err := newDirect("https://abc123.execute-api.eu-west-1.amazonaws.com/prod", okClient{}, creds, "eu-west-1")
	if err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"action":"message","text":"hello, everyone"}`)
	hash := payloadHash(data)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := d.post(ctx, "R1kmxc2VNjMCFIA=", data, hash); err != nil {
			b.Fatal(err)
		}
	}
}
