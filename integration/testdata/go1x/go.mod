module go1x

go 1.21

require github.com/aws/aws-lambda-go v1.17.0
