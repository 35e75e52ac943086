from devtools.localstack.run import main

main()
