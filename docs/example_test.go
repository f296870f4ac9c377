package docs_test

import (
	"fmt"

	"github.com/twinboot/twinboot/docs"
)

// A reader that switches language looks up the same lesson and step IDs in
// the other language.
func ExampleLessons() {
	en, err := docs.Lessons("en")
	if err != nil {
		fmt.Println(err)
		return
	}
	ko, err := docs.Lessons("ko")
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, l := range en {
		fmt.Printf("%-20s %d steps  %s / %s\n", l.ID, len(l.Steps), l.Title, ko[i].Title)
	}
	// Output:
	// lab                  3 steps  The lab: one workload, two worlds / 실습실: 하나의 프로그램, 두 개의 세계
	// vm                   3 steps  What a virtual machine is / 가상머신이란?
	// container            4 steps  What a container is / 컨테이너란?
	// why-containers       3 steps  Why containers / 왜 컨테이너를 쓸까?
	// advantages           3 steps  What containers are good at / 컨테이너의 장점
	// isolation            6 steps  Isolation: two kinds of wall / 격리: 두 종류의 벽
	// resources            5 steps  Resource allocation / 자원 할당
	// moving-environments  3 steps  Moving an environment / 환경 옮기기
	// microservices        3 steps  Microservices / 마이크로서비스
	// kubernetes           5 steps  Kubernetes and orchestration / 쿠버네티스와 오케스트레이션
}
