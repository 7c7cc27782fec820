module example.com/sdkv1

go 1.24

require (
	github.com/aws/aws-lambda-go v1.54.0
	github.com/aws/aws-sdk-go v1.55.8
)

require github.com/jmespath/go-jmespath v0.4.0 // indirect
