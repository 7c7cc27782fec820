// Command badinit is a Lambda function that fails its init in the way
// BADINIT says: "hang" never asks for an invocation, "exit" exits with
// status 3, "error" reports an init error through the Runtime API as a
// custom runtime without aws-lambda-go would, then exits.
package main

import (
	"net/http"
	"os"
	"strings"
)

func main() {
	switch os.Getenv("BADINIT") {
	case "hang":
		select {}
	case "exit":
		os.Exit(3)
	case "error":
		resp, err := http.Post("http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error",
			"application/json", strings.NewReader(`{"errorMessage":"no config","errorType":"Config.Missing"}`))
		if err != nil || resp.StatusCode != http.StatusAccepted {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
