package grip_test

import (
	"context"
	"log"
	"net/http"

	"github.com/lambdaws/lambdaws/grip"
	"github.com/lambdaws/lambdaws/ws"
)

// The handlers written for API Gateway, served behind Pushpin. GRIP_URL
// (http://localhost:5561/) lets them reach other connections and channels;
// GRIP_VERIFY_KEY makes the back end refuse requests that did not come
// through the proxy.
func ExampleNew() {
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, req *ws.Request) error { return nil })
	r.OnMessage(func(ctx context.Context, req *ws.Request) error { return ws.Reply(ctx, req.Body) })

	opts, err := grip.OptionsFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	h, err := grip.New(r, opts)
	if err != nil {
		log.Fatal(err)
	}
	_ = func() error { return http.ListenAndServe("127.0.0.1:8080", h) } // or lambda.Start(h.Lambda)
}

// A channel publish from outside any request, for example from a worker.
func ExampleHandler_Channels() {
	pub, err := grip.NewPublisher("http://localhost:5561/") // Pushpin's publish API
	if err != nil {
		log.Fatal(err)
	}
	h, err := grip.New(ws.NewRouter(), &grip.Options{Publisher: pub})
	if err != nil {
		log.Fatal(err)
	}
	_ = func() error { return h.Channels().Publish(context.Background(), "news", "hello, subscribers", "") }
}
