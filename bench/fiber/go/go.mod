module tracetool/bench/fiber

go 1.19
