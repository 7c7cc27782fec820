// Command badinit is a Lambda function that fails its init in the way
// BADINIT says: "hang" never asks for an invocation, "exit" exits with
// status 3, "error" reports an init error through the Runtime API as a
// custom runtime without aws-lambda-go would, then exits; "listen" listens
// on a TCP port as an HTTP server would, and "wrongpath" asks for an
// invocation without the API's version in the path; both then hang.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

func main() {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	switch os.Getenv("BADINIT") {
	case "hang":
		select {}
	case "listen":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(2)
		}
		fmt.Println("listening on", ln.Addr())
		select {}
	case "wrongpath":
		if resp, err := http.Get("http://" + api + "/runtime/invocation/next"); err == nil {
			resp.Body.Close()
		}
		fmt.Println("asked")
		select {}
	case "exit":
		os.Exit(3)
	case "error":
		resp, err := http.Post("http://"+api+"/2018-06-01/runtime/init/error",
			"application/json", strings.NewReader(`{"errorMessage":"no config","errorType":"Config.Missing"}`))
		if err != nil || resp.StatusCode != http.StatusAccepted {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
