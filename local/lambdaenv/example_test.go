package lambdaenv_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/lambdaws/lambdaws/local/lambdaenv"
)

// A handler runs in-process with Lambda's execution model; its errors come
// back typed as Lambda types them.
func ExampleNew() {
	f := lambdaenv.New(func(ctx context.Context, name string) (string, error) {
		if name == "" {
			return "", errors.New("no name")
		}
		return "hello " + name, nil
	}, &lambdaenv.Options{Name: "greeter", Logger: slog.New(slog.DiscardHandler)})
	defer f.Close()

	out, err := f.Invoke(context.Background(), []byte(`"gopher"`))
	fmt.Println(string(out), err)

	_, err = f.Invoke(context.Background(), []byte(`""`))
	var ie *lambdaenv.InvokeError
	if errors.As(err, &ie) {
		fmt.Println(ie.Type, ie.Message)
	}
	// Output:
	// "hello gopher" <nil>
	// errorString no name
}

// Settings Lambda would refuse, such as a reserved variable name, are
// errors.
func ExampleNewBinary() {
	_, err := lambdaenv.NewBinary("bootstrap", &lambdaenv.Options{
		Name: "fn",
		Env:  map[string]string{"AWS_REGION": "eu-west-1"},
	})
	fmt.Println(err)
	// Output:
	// lambdaenv: function fn: environment variable AWS_REGION is reserved by Lambda
}
