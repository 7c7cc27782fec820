package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/lambdaws/lambdaws/connstore"
	"github.com/lambdaws/lambdaws/local"
	"github.com/lambdaws/lambdaws/ws"
)

//go:embed index.html
var page []byte

var (
	addr        = flag.String("addr", local.DefaultAddr, "address to serve on when not running in AWS Lambda")
	createTable = flag.Bool("create-table", os.Getenv("CREATE_TABLE") == "1", "create the CONNECTIONS_TABLE DynamoDB table if it does not exist (also CREATE_TABLE=1)")
	pprofAddr   = flag.String("pprof", "", "serve net/http/pprof on this address, for profiling (off by default)")
)

func main() {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	store, err := newStore(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if *pprofAddr != "" {
		if err := servePprof(*pprofAddr); err != nil {
			log.Fatal(err)
		}
	}
	if err := serve(ctx, &ChatRoom{Store: store}); err != nil {
		log.Fatal(err)
	}
}

// serve runs the room on the transport the environment asks for: AWS Lambda
// behind API Gateway when the Lambda runtime is present, otherwise the local
// API Gateway emulator on -addr. It sets the room's Channels, which depend on
// the transport. Another transport adds a case here (and its flag and
// server in a file of its own).
func serve(ctx context.Context, room *ChatRoom) error {
	switch {
	case os.Getenv("AWS_LAMBDA_RUNTIME_API") != "":
		room.Channels = ws.StoreChannels(room.Store)
		ws.Register(room)
		lambda.Start(ws.Handler)
		return nil
	case *gripMode:
		return serveGrip(ctx, room, *addr)
	default:
		room.Channels = ws.StoreChannels(room.Store)
		ws.Register(room)
		return serveLocal(ctx, *addr)
	}
}

// serveLocal serves DefaultRouter behind the API Gateway emulator, and the
// page at GET /, until ctx is done. Routes are one-way (local's default), as in
// template.yaml: the handlers answer through the management API.
func serveLocal(ctx context.Context, addr string) error {
	ln, err := local.Listen(addr)
	if err != nil {
		return err
	}
	fmt.Printf("chat: listening on ws://%s/ (page: http://%s/)\n", ln.Addr(), ln.Addr())
	return local.Serve(ctx, ln, ws.Handler, &local.Options{Fallback: pageHandler()})
}

// pageHandler serves the chat page at GET / and 404 elsewhere.
func pageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
}

// newStore returns the DynamoDB store when CONNECTIONS_TABLE is set, creating
// the table when -create-table asks, and an in-memory store otherwise.
func newStore(ctx context.Context) (connstore.Store, error) {
	table := os.Getenv("CONNECTIONS_TABLE")
	if table == "" {
		if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
			log.Print("chat: CONNECTIONS_TABLE is not set: connections are kept in this Lambda container's memory only")
		}
		return connstore.NewMemory(), nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("chat: load AWS config: %w", err)
	}
	client := dynamodb.NewFromConfig(cfg)
	if *createTable {
		if err := connstore.CreateTable(ctx, client, table); err != nil {
			return nil, err
		}
	}
	return connstore.NewDynamoDB(client, table, nil), nil
}

// servePprof serves the runtime profiles (goroutines, heap) on addr, in the
// background.
func servePprof(addr string) error {
	ln, err := local.Listen(addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	fmt.Printf("chat: profiles at http://%s/debug/pprof/\n", ln.Addr())
	go func() { log.Print(http.Serve(ln, mux)) }()
	return nil
}
