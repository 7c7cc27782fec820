// Command badrpc is a go1.x function that answers Function.Ping as
// aws-lambda-go does and Function.Invoke in the way BADRPC says: "close"
// closes the connection, "garbage" writes bytes that are not gob, "flood"
// announces a gob message of almost 1 GiB and writes it for ever. In each
// case the process lives on.
package main

import (
	"bytes"
	"encoding/gob"
	"errors"
	"net"
	"net/rpc"
	"os"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

type function struct{}

func (function) Ping(*messages.PingRequest, *messages.PingResponse) error { return nil }

func (function) Invoke(_ *messages.InvokeRequest, resp *messages.InvokeResponse) error {
	resp.Payload = []byte(`"unreachable"`)
	return nil
}

// codec is net/rpc's gob codec, misbehaving on Function.Invoke.
type codec struct {
	conn net.Conn
	dec  *gob.Decoder
	enc  *gob.Encoder
}

func (c *codec) ReadRequestHeader(r *rpc.Request) error { return c.dec.Decode(r) }
func (c *codec) ReadRequestBody(body any) error         { return c.dec.Decode(body) }
func (c *codec) Close() error                           { return c.conn.Close() }

func (c *codec) WriteResponse(r *rpc.Response, body any) error {
	if r.ServiceMethod != "Function.Invoke" {
		if err := c.enc.Encode(r); err != nil {
			return err
		}
		return c.enc.Encode(body)
	}
	switch os.Getenv("BADRPC") {
	case "close":
		c.conn.Close()
	case "garbage":
		c.conn.Write(bytes.Repeat([]byte{0xff}, 1024))
	case "flood":
		// gob's byte count: 0xfc is "4 bytes follow", big-endian.
		c.conn.Write([]byte{0xfc, 0x3f, 0xff, 0xff, 0xff})
		zeros := make([]byte, 64<<10)
		for {
			if _, err := c.conn.Write(zeros); err != nil {
				break
			}
		}
	}
	return errors.New("badrpc: misbehaved")
}

func main() {
	ln, err := net.Listen("tcp", "localhost:"+os.Getenv("_LAMBDA_SERVER_PORT"))
	if err != nil {
		os.Exit(1)
	}
	srv := rpc.NewServer()
	srv.RegisterName("Function", function{})
	for {
		conn, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go srv.ServeCodec(&codec{conn: conn, dec: gob.NewDecoder(conn), enc: gob.NewEncoder(conn)})
	}
}
