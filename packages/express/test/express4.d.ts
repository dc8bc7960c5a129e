// express 4 installed under an npm alias; it has the same types as `express` for what the tests use.
declare module 'express4' {
  import express from 'express'
  export default express
}
