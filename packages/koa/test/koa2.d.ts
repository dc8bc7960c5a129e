// koa 2 installed under an npm alias; @types/koa describes what the tests use of both majors.
declare module 'koa2' {
  import Koa from 'koa'
  export default Koa
}
